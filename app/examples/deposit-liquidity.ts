// Request a deposit of 100 settlement tokens into pool 0, refusing fewer than 99 % of the
// shares the current pool value implies (the slippage bound). A keeper executes the request
// with prices published after the pool's request delay (15 s by default) and the shares
// arrive then; `getCancelLiquidityRequestInstruction` takes it back before that.
// The pool's markets (writable: each records its price) and their Pyth price accounts go in
// as remaining accounts.
import { AccountRole, address } from '@solana/kit';
import {
  fetchPool,
  fetchMarket,
  findPoolPda,
  findVaultPda,
  findLpMintPda,
  getDepositLiquidityInstructionAsync,
  getPoolValueViewDecoder,
  getGetPoolValueInstruction,
} from '../src/generated/index.ts';
import { eventAccounts, loadSigner, rpc, send, view } from './common.ts';

const owner = await loadSigner();
const [pool] = await findPoolPda({ poolId: 0 });
const poolAccount = await fetchPool(rpc, pool);
const settlementPrice = address(process.env.SETTLEMENT_PRICE_ACCOUNT ?? '');
const marketPrices = (process.env.MARKET_PRICE_ACCOUNTS ?? '').split(',').filter(Boolean).map((a) => address(a));
const remaining = [];
for (const [i, market] of poolAccount.data.markets.slice(0, poolAccount.data.marketCount).entries()) {
  await fetchMarket(rpc, market); // exists and is a market
  remaining.push({ address: market, role: AccountRole.WRITABLE }, { address: marketPrices[i], role: AccountRole.READONLY });
}

const [lpMint] = await findLpMintPda({ pool });
const [vault] = await findVaultPda({ pool });
const valueIx = getGetPoolValueInstruction({ pool, lpMint, settlementPriceUpdate: settlementPrice });
const readonly = remaining.map((a) => ({ ...a, role: AccountRole.READONLY }));
const value = getPoolValueViewDecoder().decode(
  await view(owner, { ...valueIx, accounts: [...valueIx.accounts, ...readonly] }),
);
const amount = 100n * 10n ** BigInt(poolAccount.data.settlementDecimals);
const expectedShares = value.shareSupply === 0n ? amount : (amount * value.shareSupply) / value.poolValueMax;
const ix = await getDepositLiquidityInstructionAsync({
  owner,
  pool,
  vault,
  lpMint,
  fundingAccount: address(process.env.FUNDING_ACCOUNT ?? ''),
  lpReceiver: address(process.env.LP_TOKEN_ACCOUNT ?? ''),
  settlementPriceUpdate: settlementPrice,
  amount,
  minSharesOut: (expectedShares * 99n) / 100n,
  ...(await eventAccounts()),
});
console.log('deposit requested:', await send(owner, [{ ...ix, accounts: [...ix.accounts, ...remaining] }]));
