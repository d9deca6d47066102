// Read a position's health: equity, margin requirements and liquidation price, computed by
// the program itself (the `get_position_health` view, simulated).
import { address } from '@solana/kit';
import {
  Side,
  findPoolPda,
  getGetPositionHealthInstruction,
  getPositionHealthDecoder,
} from '../src/generated/index.ts';
import { findMarketPda, findPositionPda, loadSigner, view } from './common.ts';

const signer = await loadSigner();
const owner = address(process.env.OWNER ?? signer.address);
const [pool] = await findPoolPda({ poolId: 0 });
const market = await findMarketPda(pool, 0);
const position = await findPositionPda(market, owner, Side.Long);
const health = getPositionHealthDecoder().decode(
  await view(
    signer,
    getGetPositionHealthInstruction({
      pool,
      market,
      position,
      priceUpdate: address(process.env.PRICE_ACCOUNT ?? ''),
      settlementPriceUpdate: address(process.env.SETTLEMENT_PRICE_ACCOUNT ?? ''),
    }),
  ),
);
const usd = (v: bigint, d: number) => (Number(v) / 10 ** d).toFixed(4);
console.log({
  markPrice: usd(health.markPrice, 9),
  equity: health.equity.toString(),
  maintenanceMarginRequired: health.maintenanceMarginRequired.toString(),
  initialMarginBps: health.initialMarginBps.toString(),
  liquidationPrice: usd(health.liquidationPrice, 9),
  liquidatable: health.equity < BigInt(health.maintenanceMarginRequired),
});
