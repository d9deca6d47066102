// Shared by the examples: a cluster connection and a signer from a Solana CLI keypair file.
// Usage: RPC_URL=https://api.devnet.solana.com KEYPAIR=~/.config/solana/id.json npx tsx examples/<file>.ts
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
export const rpcSubscriptions = createSolanaRpcSubscriptions(rpcUrl.replace(/^http/, 'ws').replace(':8899', ':8900'));

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
  await sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions })(tx as never, { commitment: 'confirmed' });
  return getSignatureFromTransaction(tx);
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
  if (sim.value.err) throw new Error(`view failed: ${JSON.stringify(sim.value.err)}`);
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
