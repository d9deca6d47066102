// Open a 1,500 USD long on market 0 of pool 0 with 150 tokens of collateral, accepting a
// fill at most 0.5 % above the oracle price (the slippage bound).
import { address } from '@solana/kit';
import {
  Side,
  fetchMarket,
  findPoolPda,
  findVaultPda,
  getOpenPositionInstructionAsync,
} from '../src/generated/index.ts';
import { eventAccounts, findMarketPda, findPositionPda, loadSigner, rpc, send } from './common.ts';

const owner = await loadSigner();
const [pool] = await findPoolPda({ poolId: 0 });
const market = await findMarketPda(pool, 0);
const marketAccount = await fetchMarket(rpc, market);
// Prices are USD with 9 decimals; the market remembers the last price it used.
const acceptablePrice = (marketAccount.data.lastPrice * 1005n) / 1000n;
const [vault] = await findVaultPda({ pool });
const ix = await getOpenPositionInstructionAsync({
  owner,
  pool,
  market,
  position: await findPositionPda(market, owner.address, Side.Long),
  vault,
  fundingAccount: address(process.env.FUNDING_ACCOUNT ?? ''),
  priceUpdate: address(process.env.PRICE_ACCOUNT ?? ''),
  settlementPriceUpdate: address(process.env.SETTLEMENT_PRICE_ACCOUNT ?? ''),
  side: Side.Long,
  sizeUsd: 1_500_000_000n, // USD, 6 decimals
  collateral: 150_000_000n, // settlement token base units
  acceptablePrice,
  ...(await eventAccounts()),
});
console.log('opened:', await send(owner, [ix]));
