// Anchor's migration hook (`anchor migrate`), run right after `anchor deploy`: initialize the
// protocol. The program accepts `initialize` only from its upgrade authority (the deploying
// wallet, unless the authority was moved), whose ProgramData account the generated builder
// derives.
//
// Anchor calls the exported function with its provider; this script uses the generated
// @solana/kit client from app/ and the provider's wallet file and cluster URL.
import { readFileSync } from 'node:fs';
import {
  address,
  appendTransactionMessageInstructions,
  createKeyPairSignerFromBytes,
  createSolanaRpc,
  createSolanaRpcSubscriptions,
  createTransactionMessage,
  getProgramDerivedAddress,
  pipe,
  sendAndConfirmTransactionFactory,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
} from '@solana/kit';
import {
  TIDEPOOL_PROGRAM_ADDRESS,
  fetchMaybeConfig,
  findConfigPda,
  getInitializeInstructionAsync,
} from '../app/src/generated/index.ts';

// Solana's convention (as @solana/web3.js): the WebSocket port is the RPC port + 1
// (8899 -> 8900); WS_URL overrides.
function wsUrlFor(http: string): string {
  if (process.env.WS_URL) return process.env.WS_URL;
  const u = new URL(http);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (u.port) u.port = String(Number(u.port) + 1);
  return u.toString();
}

type Provider = { connection: { rpcEndpoint: string }; wallet?: { payer?: { secretKey: Uint8Array } } };

module.exports = async function (provider: Provider) {
  const url = provider.connection.rpcEndpoint;
  const rpc = createSolanaRpc(url);
  const rpcSubscriptions = createSolanaRpcSubscriptions(wsUrlFor(url));
  const secret =
    provider.wallet?.payer?.secretKey ??
    Uint8Array.from(JSON.parse(readFileSync(process.env.ANCHOR_WALLET ?? '', 'utf8')));
  const admin = await createKeyPairSignerFromBytes(secret);
  const [config] = await findConfigPda();
  if ((await fetchMaybeConfig(rpc, config)).exists) {
    console.log(`config ${config} already initialized`);
    return;
  }
  const feeRecipient = address(process.env.TIDEPOOL_FEE_RECIPIENT ?? admin.address);
  const [eventAuthority] = await getProgramDerivedAddress({
    programAddress: TIDEPOOL_PROGRAM_ADDRESS,
    seeds: ['__event_authority'],
  });
  const ix = await getInitializeInstructionAsync({
    admin,
    feeRecipient,
    eventAuthority,
    program: TIDEPOOL_PROGRAM_ADDRESS,
  });
  const { value: blockhash } = await rpc.getLatestBlockhash().send();
  const message = pipe(
    createTransactionMessage({ version: 0 }),
    (m) => setTransactionMessageFeePayerSigner(admin, m),
    (m) => setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => appendTransactionMessageInstructions([ix], m),
  );
  const tx = await signTransactionMessageWithSigners(message);
  await sendAndConfirmTransactionFactory({ rpc, rpcSubscriptions })(tx as never, { commitment: 'confirmed' });
  console.log(`initialized ${config}; admin ${admin.address}, fee recipient ${feeRecipient}`);
};
