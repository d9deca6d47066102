// Decoding the program's events. Every state-changing instruction emits its event with
// Anchor's `emit_cpi!`: a self-CPI, signed by the `__event_authority` PDA, whose instruction
// data is Anchor's 8-byte event tag (`EVENT_IX_TAG_LE`), the event's 8-byte discriminator
// (from the IDL's `events`), then the event struct in Borsh. The self-CPI shows up among the
// transaction's inner instructions; the structs' codecs are generated (src/generated/types,
// see scripts/generate.mjs), the discriminators are below, checked against the IDL by
// test/events.test.ts.
import { getBase58Encoder, type Address, type Decoder } from '@solana/kit';
import * as gen from './generated/index.ts';

/** Anchor's `EVENT_IX_TAG` (0x1d9acb512ea545e4) in little-endian: the first 8 bytes of an `emit_cpi!`. */
export const EVENT_IX_TAG = new Uint8Array([0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d]);

const EVENTS = {
  AdminTransferProposed: { discriminator: [203, 168, 175, 51, 239, 104, 20, 85], decoder: gen.getAdminTransferProposedDecoder },
  AdminTransferred: { discriminator: [255, 147, 182, 5, 199, 217, 38, 179], decoder: gen.getAdminTransferredDecoder },
  BadDebtAbsorbed: { discriminator: [79, 7, 46, 220, 149, 148, 250, 170], decoder: gen.getBadDebtAbsorbedDecoder },
  CollateralChanged: { discriminator: [172, 114, 48, 57, 98, 83, 95, 157], decoder: gen.getCollateralChangedDecoder },
  ConfigInitialized: { discriminator: [181, 49, 200, 156, 19, 167, 178, 91], decoder: gen.getConfigInitializedDecoder },
  LiquidityDeposited: { discriminator: [218, 155, 74, 193, 59, 66, 94, 122], decoder: gen.getLiquidityDepositedDecoder },
  LiquidityRequestCancelled: { discriminator: [21, 71, 126, 98, 248, 179, 190, 36], decoder: gen.getLiquidityRequestCancelledDecoder },
  LiquidityRequested: { discriminator: [242, 169, 111, 104, 14, 249, 8, 60], decoder: gen.getLiquidityRequestedDecoder },
  LiquidityWithdrawn: { discriminator: [240, 120, 73, 139, 154, 31, 218, 68], decoder: gen.getLiquidityWithdrawnDecoder },
  MarketCreated: { discriminator: [88, 184, 130, 231, 226, 84, 6, 58], decoder: gen.getMarketCreatedDecoder },
  MarketParamsUpdated: { discriminator: [88, 163, 120, 117, 160, 118, 99, 60], decoder: gen.getMarketParamsUpdatedDecoder },
  MarketRefreshed: { discriminator: [137, 5, 228, 141, 72, 86, 38, 197], decoder: gen.getMarketRefreshedDecoder },
  PauseFlagsSet: { discriminator: [67, 234, 75, 170, 161, 26, 210, 36], decoder: gen.getPauseFlagsSetDecoder },
  PoolCreated: { discriminator: [202, 44, 41, 88, 104, 220, 157, 82], decoder: gen.getPoolCreatedDecoder },
  PoolParamsUpdated: { discriminator: [84, 184, 28, 117, 39, 64, 87, 132], decoder: gen.getPoolParamsUpdatedDecoder },
  PositionDecreased: { discriminator: [251, 151, 37, 204, 127, 87, 115, 232], decoder: gen.getPositionDecreasedDecoder },
  PositionDeleveraged: { discriminator: [108, 14, 146, 114, 186, 45, 241, 84], decoder: gen.getPositionDeleveragedDecoder },
  PositionIncreased: { discriminator: [73, 58, 247, 181, 100, 237, 249, 81], decoder: gen.getPositionIncreasedDecoder },
  PositionLiquidated: { discriminator: [40, 107, 90, 214, 96, 30, 61, 128], decoder: gen.getPositionLiquidatedDecoder },
  ProtocolFeesCollected: { discriminator: [165, 34, 125, 155, 15, 86, 99, 191], decoder: gen.getProtocolFeesCollectedDecoder },
  TriggerOrderExecuted: { discriminator: [47, 181, 92, 44, 141, 93, 45, 145], decoder: gen.getTriggerOrderExecutedDecoder },
  TriggerOrdersSet: { discriminator: [206, 72, 10, 2, 156, 31, 216, 61], decoder: gen.getTriggerOrdersSetDecoder },
} as const;

export type TidepoolEventName = keyof typeof EVENTS;
type EventData<K extends TidepoolEventName> = ReturnType<(typeof EVENTS)[K]['decoder']> extends Decoder<infer T> ? T : never;
/** A decoded event: its IDL name and its struct, e.g. `{ name: 'PositionIncreased', data: PositionIncreased }`. */
export type TidepoolEvent = { [K in TidepoolEventName]: { name: K; data: EventData<K> } }[TidepoolEventName];

/** The 8-byte discriminator of each event, as in the IDL. */
export const TIDEPOOL_EVENT_DISCRIMINATORS: Readonly<Record<TidepoolEventName, Uint8Array>> = Object.fromEntries(
  Object.entries(EVENTS).map(([name, e]) => [name, Uint8Array.from(e.discriminator)]),
) as Record<TidepoolEventName, Uint8Array>;

const startsWith = (bytes: Uint8Array, prefix: ArrayLike<number>, offset = 0) => {
  if (bytes.length < offset + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[offset + i] !== prefix[i]) return false;
  return true;
};

/**
 * Decode an event from its discriminator and Borsh struct (what follows the tag in an
 * `emit_cpi!`, and what `emit!` logs as `Program data:`). Returns null when the discriminator
 * is none of Tidepool's events; throws when it is one but the bytes do not fit its struct
 * (an IDL older or newer than the program that emitted it).
 */
export function decodeTidepoolEventData(bytes: Uint8Array): TidepoolEvent | null {
  for (const [name, e] of Object.entries(EVENTS)) {
    if (!startsWith(bytes, e.discriminator)) continue;
    const decoder = e.decoder() as Decoder<unknown>;
    const [data, end] = decoder.read(bytes, 8);
    if (end !== bytes.length) {
      throw new Error(`${name}: ${bytes.length - 8} bytes of event data, the IDL's struct reads ${end - 8}`);
    }
    return { name, data } as TidepoolEvent;
  }
  return null;
}

/**
 * Decode the data of an `emit_cpi!` self-CPI instruction: the event tag, then the event.
 * Returns null for instruction data that is not an event (no tag, or an unknown
 * discriminator).
 */
export function decodeTidepoolEventInstruction(data: Uint8Array): TidepoolEvent | null {
  if (!startsWith(data, EVENT_IX_TAG)) return null;
  return decodeTidepoolEventData(data.subarray(EVENT_IX_TAG.length));
}

/**
 * What the events are read from: a `getTransaction` result with `encoding: 'json'` (the
 * default) and `maxSupportedTransactionVersion: 0`.
 */
export type TransactionWithInnerInstructions = {
  readonly transaction: { readonly message: { readonly accountKeys: readonly Address[] | readonly string[] } };
  readonly meta: {
    readonly err: unknown;
    readonly innerInstructions?: readonly {
      readonly instructions: readonly { readonly programIdIndex: number; readonly data: string }[];
    }[] | null;
    readonly loadedAddresses?: { readonly writable: readonly string[]; readonly readonly: readonly string[] } | null;
  } | null;
};

/**
 * The events a confirmed transaction emitted, in order: the self-CPIs of the program
 * (`programAddress`, default Tidepool's) among its inner instructions. A failed transaction
 * emitted nothing (its effects, events included, were rolled back): empty. Only the program
 * itself can make such a CPI (the `__event_authority` PDA must sign it), so inner instructions
 * with the tag are the program's events and nothing else.
 */
export function getTidepoolEventsFromTransaction(
  tx: TransactionWithInnerInstructions,
  programAddress: string = gen.TIDEPOOL_PROGRAM_ADDRESS,
): TidepoolEvent[] {
  const meta = tx.meta;
  if (!meta || meta.err) return [];
  // Versioned transactions: the static keys, then the lookup tables' writable, then readonly.
  const keys: readonly string[] = [
    ...tx.transaction.message.accountKeys,
    ...(meta.loadedAddresses?.writable ?? []),
    ...(meta.loadedAddresses?.readonly ?? []),
  ];
  const base58 = getBase58Encoder();
  const events: TidepoolEvent[] = [];
  for (const group of meta.innerInstructions ?? []) {
    for (const ix of group.instructions) {
      if (keys[ix.programIdIndex] !== programAddress) continue;
      const event = decodeTidepoolEventInstruction(new Uint8Array(base58.encode(ix.data)));
      if (event) events.push(event);
    }
  }
  return events;
}
