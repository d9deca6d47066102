// Open a 1,500 USD long on market 0 of pool 0 with 500 tokens of collateral (3x: margin
// rises with volatility, and a price jump is volatility), accepting a fill at most 0.5 %
// above the oracle price (the slippage bound).
import { address } from '@solana/kit';
import {
  Side,
  fetchMarket,
  findPoolPda,
  findVaultPda,
  getOpenPositionInstruction,
} from '../src/generated/index.ts';
import { eventAccounts, findMarketPda, findPositionPda, loadSigner, oraclePrice, rpc, send } from './common.ts';

const owner = await loadSigner();
const [pool] = await findPoolPda({ poolId: 0 });
const market = await findMarketPda(pool, 0);
await fetchMarket(rpc, market); // exists and is a market
const priceUpdate = address(process.env.PRICE_ACCOUNT ?? '');
// Prices are USD with 9 decimals. The bound comes from the oracle now: the market's
// `lastPrice` is as old as its last trade and refuses the fill (PriceSlippage) once the
// price has moved up since.
const acceptablePrice = ((await oraclePrice(priceUpdate)) * 1005n) / 1000n;
const [vault] = await findVaultPda({ pool });
const ix = await getOpenPositionInstruction({
  owner,
  pool,
  market,
  position: await findPositionPda(market, owner.address, Side.Long),
  vault,
  fundingAccount: address(process.env.FUNDING_ACCOUNT ?? ''),
  priceUpdate,
  settlementPriceUpdate: address(process.env.SETTLEMENT_PRICE_ACCOUNT ?? ''),
  side: Side.Long,
  sizeUsd: 1_500_000_000n, // USD, 6 decimals
  collateral: 500_000_000n, // settlement token base units
  acceptablePrice,
  ...(await eventAccounts()),
});
console.log('opened:', await send(owner, [ix]));
