// The event decoder (src/events.ts): its discriminators are the IDL's, and it reads event
// bytes laid out by hand from the Rust structs (programs/tidepool/src/events.rs) in Borsh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { getAddressDecoder, getBase58Decoder } from '@solana/kit';
import * as gen from '../src/generated/index.ts';
import {
  EVENT_IX_TAG,
  TIDEPOOL_EVENT_DISCRIMINATORS,
  decodeTidepoolEventData,
  decodeTidepoolEventInstruction,
  getTidepoolEventsFromTransaction,
} from '../src/events.ts';

const idl = JSON.parse(readFileSync(new URL('../../idl/tidepool.json', import.meta.url), 'utf8'));
const key = (seed: number) => Uint8Array.from({ length: 32 }, (_, i) => (seed + i) % 256);
const addr = (seed: number) => getAddressDecoder().decode(key(seed));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};
const u64s = (...values: bigint[]) => {
  const b = new Uint8Array(8 * values.length);
  const view = new DataView(b.buffer);
  values.forEach((v, i) => view.setBigUint64(8 * i, BigInt.asUintN(64, v), true));
  return b;
};

test('every event of the IDL, with the IDL discriminator, and no other', () => {
  const ours = Object.entries(TIDEPOOL_EVENT_DISCRIMINATORS).map(([n, d]) => [n, Array.from(d)]);
  const theirs = idl.events.map((e: { name: string; discriminator: number[] }) => [e.name, e.discriminator]);
  assert.deepEqual(ours.sort(), theirs.sort());
});

// AdminTransferProposed { admin: Pubkey, pending_admin: Pubkey }
const proposed = concat(EVENT_IX_TAG, TIDEPOOL_EVENT_DISCRIMINATORS.AdminTransferProposed, key(1), key(100));

test('an emit_cpi! instruction: tag, discriminator, Borsh struct', () => {
  assert.deepEqual(decodeTidepoolEventInstruction(proposed), {
    name: 'AdminTransferProposed',
    data: { admin: addr(1), pendingAdmin: addr(100) },
  });
});

test('integers, signed integers and enums', () => {
  // PositionIncreased { pool, market, position, owner: Pubkey, side: Side, size_usd, size_base,
  // fill_price, collateral_in, open_fee, reserve_added, borrow_fee_settled: u64,
  // funding_settled: i64, total_size_base, total_entry_notional_usd, total_collateral,
  // total_reserved: u64 }
  const body = concat(
    key(1), key(2), key(3), key(4),
    Uint8Array.of(1), // Side::Short
    u64s(1_000_000_000n, 2n, 65_000_000_000_000n, 4n, 5n, 6n, 7n, -8n, 9n, 10n, 11n, 2n ** 64n - 1n),
  );
  const event = decodeTidepoolEventInstruction(concat(EVENT_IX_TAG, TIDEPOOL_EVENT_DISCRIMINATORS.PositionIncreased, body));
  assert.ok(event && event.name === 'PositionIncreased');
  assert.equal(event.data.owner, addr(4));
  assert.equal(event.data.side, gen.Side.Short);
  assert.equal(event.data.sizeUsd, 1_000_000_000n);
  assert.equal(event.data.fillPrice, 65_000_000_000_000n);
  assert.equal(event.data.fundingSettled, -8n);
  assert.equal(event.data.totalReserved, 2n ** 64n - 1n);
});

test('not an event: no tag, or a discriminator that is none of ours', () => {
  assert.equal(decodeTidepoolEventInstruction(proposed.subarray(8)), null);
  assert.equal(decodeTidepoolEventInstruction(concat(EVENT_IX_TAG, new Uint8Array(72))), null);
  assert.equal(decodeTidepoolEventData(proposed.subarray(8))?.name, 'AdminTransferProposed');
});

test('an event whose bytes do not fit its struct is an error, not a misread', () => {
  assert.throws(() => decodeTidepoolEventInstruction(proposed.subarray(0, proposed.length - 1)));
  assert.throws(() => decodeTidepoolEventInstruction(concat(proposed, Uint8Array.of(0))), /AdminTransferProposed/);
});

test('the events of a transaction: the program inner instructions, lookup-table keys included', () => {
  const b58 = getBase58Decoder();
  const other = addr(200);
  const tx = {
    transaction: { message: { accountKeys: [addr(7), other] } },
    meta: {
      err: null,
      loadedAddresses: { writable: [addr(8)], readonly: [gen.TIDEPOOL_PROGRAM_ADDRESS] },
      innerInstructions: [
        {
          index: 0,
          instructions: [
            { programIdIndex: 1, data: b58.decode(proposed) }, // another program: ignored
            { programIdIndex: 3, data: b58.decode(Uint8Array.of(1, 2, 3)) }, // ours, not an event
            { programIdIndex: 3, data: b58.decode(proposed) },
          ],
        },
      ],
    },
  };
  assert.deepEqual(getTidepoolEventsFromTransaction(tx).map((e) => e.name), ['AdminTransferProposed']);
  assert.deepEqual(getTidepoolEventsFromTransaction({ ...tx, meta: { ...tx.meta, err: { InstructionError: [0, 'Custom'] } } }), []);
});
