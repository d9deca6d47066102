// Shared by the examples: a cluster connection and a signer from a Solana CLI keypair file.
// Usage: RPC_URL=https://api.devnet.solana.com KEYPAIR=~/.config/solana/id.json npx tsx examples/<file>.ts
// (WS_URL: the subscriptions endpoint, default the RPC port + 1.)
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import {
  appendTransactionMessageInstructions,
  compileTransaction,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createSolanaRpcSubscriptions,
  createTransactionMessage,
  getBase64EncodedWireTransaction,
  pipe,
  sendAndConfirmTransactionFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  getSignatureFromTransaction,
  getAddressEncoder,
  getProgramDerivedAddress,
  type Address,
  type Instruction,
  type KeyPairSigner,
} from '@solana/kit';
import { TIDEPOOL_PROGRAM_ADDRESS, type Side } from '../src/generated/index.ts';

export const rpcUrl = process.env.RPC_URL ?? 'http://127.0.0.1:8899';
export const rpc = createSolanaRpc(rpcUrl);
// Solana's convention (as @solana/web3.js): the WebSocket port is the RPC port + 1
// (8899 -> 8900); WS_URL overrides.
export function wsUrlFor(http: string): string {
  if (process.env.WS_URL) return process.env.WS_URL;
  const u = new URL(http);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (u.port) u.port = String(Number(u.port) + 1);
  return u.toString();
}
export const rpcSubscriptions = createSolanaRpcSubscriptions(wsUrlFor(rpcUrl));

export async function loadSigner(): Promise<KeyPairSigner> {
  const path = (process.env.KEYPAIR ?? '~/.config/solana/id.json').replace(/^~/, homedir());
  return createKeyPairSignerFromBytes(Uint8Array.from(JSON.parse(readFileSync(path, 'utf8'))));
}

/** Sign with the instructions' signers and send; returns the signature. */
export async function send(payer: KeyPairSigner, instructions: Instruction[]): Promise<string> {
  const { value: blockhash } = await rpc.getLatestBlockhash().send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions(instructions, m),
  );
  const tx = await signTransactionMessageWithSigners(message);
  try {
    await sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions })(tx as never, { commitment: 'confirmed' });
  } catch (e) {
    // A preflight failure carries the program's error and logs in its context (bigints
    // included, which plain JSON.stringify refuses).
    const context = (e as { context?: { logs?: string[] } }).context;
    const cause = (e as { cause?: unknown }).cause;
    const detail = [cause ? `cause: ${cause instanceof Error ? cause.message : toJson(cause)}` : '', ...(context?.logs ?? [])];
    throw new Error(`${(e as Error).message}\n${detail.filter(Boolean).join('\n')}`, { cause: e });
  }
  return getSignatureFromTransaction(tx);
}

/** JSON that survives the bigints @solana/kit decodes numbers into. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
}

/**
 * The spot price of a Pyth `PriceUpdateV2` account in the program's units (USD, 9
 * decimals): what a trade fills around now, unlike a market's `lastPrice`, which is only
 * as recent as the market's last trade.
 */
export async function oraclePrice(priceAccount: Address): Promise<bigint> {
  const { value } = await rpc.getAccountInfo(priceAccount, { encoding: 'base64' }).send();
  if (!value) throw new Error(`price account ${priceAccount} not found`);
  const data = Buffer.from(value.data[0], 'base64');
  // discriminator (8), write_authority (32), verification_level (Partial: 2 bytes, Full: 1),
  // then the message: feed_id (32), price (i64), conf (u64), exponent (i32), ...
  const start = 40 + (data[40] === 0 ? 2 : 1) + 32;
  const price = data.readBigInt64LE(start);
  const exponent = data.readInt32LE(start + 16);
  const shift = 9 + exponent;
  return shift >= 0 ? price * 10n ** BigInt(shift) : price / 10n ** BigInt(-shift);
}

/** Simulate a view instruction and return its return data (Borsh bytes). */
export async function view(payer: KeyPairSigner, instruction: Instruction): Promise<Uint8Array> {
  const { value: blockhash } = await rpc.getLatestBlockhash().send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(payer, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions([instruction], m),
  );
  const wire = getBase64EncodedWireTransaction(compileTransaction(message));
  const sim = await rpc.simulateTransaction(wire, { encoding: 'base64', sigVerify: false, replaceRecentBlockhash: true }).send();
  if (sim.value.err) {
    const logs = (sim.value.logs ?? []).join('\n');
    throw new Error(`view failed: ${toJson(sim.value.err)}\n${logs}`);
  }
  const data = sim.value.returnData?.data[0];
  if (!data) throw new Error('the view returned nothing');
  return Uint8Array.from(Buffer.from(data, 'base64'));
}

/** Market PDA `["market", pool, index]`. */
export async function findMarketPda(pool: Address, index: number): Promise<Address> {
  const seeds = ['market', getAddressEncoder().encode(pool), new Uint8Array([index])];
  return (await getProgramDerivedAddress({ programAddress: TIDEPOOL_PROGRAM_ADDRESS, seeds }))[0];
}

/** Position PDA `["position", market, owner, side]`. */
export async function findPositionPda(market: Address, owner: Address, side: Side): Promise<Address> {
  const enc = getAddressEncoder();
  const seeds = ['position', enc.encode(market), enc.encode(owner), new Uint8Array([side])];
  return (await getProgramDerivedAddress({ programAddress: TIDEPOOL_PROGRAM_ADDRESS, seeds }))[0];
}

/** Accounts of Anchor's event CPI, which every state-changing instruction takes. */
export async function eventAccounts(): Promise<{ eventAuthority: Address; program: Address }> {
  const [eventAuthority] = await getProgramDerivedAddress({
    programAddress: TIDEPOOL_PROGRAM_ADDRESS,
    seeds: ['__event_authority'],
  });
  return { eventAuthority, program: TIDEPOOL_PROGRAM_ADDRESS };
}
