// Print the Tidepool events a transaction emitted.
// Usage: RPC_URL=... npx tsx examples/events.ts <signature>
import { signature } from '@solana/kit';
import { getTidepoolEventsFromTransaction } from '../src/events.ts';
import { rpc, toJson } from './common.ts';

const sig = process.argv[2];
if (!sig) throw new Error('usage: npx tsx examples/events.ts <signature>');
const tx = await rpc
  .getTransaction(signature(sig), { commitment: 'confirmed', encoding: 'json', maxSupportedTransactionVersion: 0 })
  .send();
if (!tx) throw new Error(`transaction ${sig} not found (not confirmed yet, or pruned by this node)`);
for (const event of getTidepoolEventsFromTransaction(tx)) console.log(event.name, toJson(event.data));
