// The generated client against what the Rust program really encodes: every instruction
// byte for byte (data, account order and roles) and every account type decoded from bytes
// the runtime produced. The vectors are written by the Rust test
// `tests/tests/program/golden.rs` (`cargo test` runs it before `npm test` in CI).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AccountRole, address, createNoopSigner } from '@solana/kit';
import * as gen from '../src/generated/index.ts';

type Meta = { pubkey: string; isSigner: boolean; isWritable: boolean };
type Vector = { name: string; args: Record<string, unknown>; accounts: Meta[]; data: string };
type IdlAccount = { name: string; signer?: boolean; optional?: boolean; accounts?: IdlAccount[] };

const read = (path: string) => JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8'));
const idl = read('../../idl/tidepool.json');
const vectors: Vector[] = read('./fixtures/instructions.json');
const accounts: { name: string; data: string; expect: Record<string, unknown> }[] = read('./fixtures/accounts.json');

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (s: string) => camel(s).replace(/^./, (c) => c.toUpperCase());
const hex = (b: ArrayLike<number>) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const flatten = (list: IdlAccount[]): IdlAccount[] => list.flatMap((a) => (a.accounts ? flatten(a.accounts) : [a]));
const PUBKEY_ARGS = new Set(['fee_recipient', 'new_admin']);

/** The Rust side's JSON args in the generated client's shapes. */
function convert(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return Uint8Array.from(value as number[]);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [camel(k), convert(v, k)]));
  }
  if (typeof value === 'string') {
    if (PUBKEY_ARGS.has(key)) return address(value);
    if (key === 'side') return gen.Side[value as keyof typeof gen.Side];
    if (/^\d+$/.test(value)) return BigInt(value);
  }
  return value;
}

const role = (m: Meta) =>
  m.isSigner
    ? m.isWritable ? AccountRole.WRITABLE_SIGNER : AccountRole.READONLY_SIGNER
    : m.isWritable ? AccountRole.WRITABLE : AccountRole.READONLY;

test('the vectors cover every instruction of the IDL', () => {
  const names = new Set(vectors.map((v) => v.name));
  for (const ix of idl.instructions) assert.ok(names.has(ix.name), `no vector for ${ix.name}`);
});

for (const v of vectors) {
  test(`${v.name}: the generated builder encodes what the Rust client encodes`, () => {
    const ixIdl = idl.instructions.find((i: { name: string }) => i.name === v.name);
    const names = flatten(ixIdl.accounts);
    const input: Record<string, unknown> = {};
    names.forEach((acc, i) => {
      const meta = v.accounts[i];
      // Anchor passes the program id for an absent optional account; so does Codama.
      if (acc.optional && meta.pubkey === idl.address) return;
      input[camel(acc.name)] = acc.signer ? createNoopSigner(address(meta.pubkey)) : address(meta.pubkey);
    });
    Object.assign(input, convert(v.args));
    const build = (gen as Record<string, unknown>)[`get${pascal(v.name)}Instruction`] as (i: unknown) => {
      data: Uint8Array;
      accounts: { address: string; role: AccountRole }[];
      programAddress: string;
    };
    const ix = build(input);
    assert.equal(ix.programAddress, idl.address);
    assert.equal(hex(ix.data), v.data, 'instruction data');
    const fixed = v.accounts.slice(0, names.length);
    assert.deepEqual(
      ix.accounts.map((a) => [a.address, a.role]),
      fixed.map((m) => [m.pubkey, role(m)]),
      'accounts and roles',
    );
    // What follows is the remaining accounts ([market, price] pairs): prices readonly;
    // markets writable in the LP instructions (they record each market's price), else
    // readonly.
    const marking = new Set(['deposit_liquidity', 'withdraw_liquidity', 'execute_liquidity_request']);
    v.accounts.slice(names.length).forEach((m, i) => {
      const market = i % 2 === 0;
      assert.equal(role(m), market && marking.has(v.name) ? AccountRole.WRITABLE : AccountRole.READONLY);
    });
  });
}

const normalize = (x: unknown): unknown => {
  if (typeof x === 'bigint') return x.toString();
  if (x instanceof Uint8Array) return Array.from(x);
  return x;
};

for (const a of accounts) {
  test(`${a.name}: the generated decoder reads the runtime's bytes`, () => {
    const decoder = (gen as Record<string, unknown>)[`get${a.name}Decoder`] as () => { decode(b: Uint8Array): unknown };
    const bytes = Uint8Array.from(Buffer.from(a.data, 'base64'));
    const decoded = decoder().decode(bytes) as Record<string, unknown>;
    for (const [path, want] of Object.entries(a.expect)) {
      let got: unknown = decoded;
      for (const k of path.split('.')) got = (got as Record<string, unknown>)[k];
      if (path === 'side') got = gen.Side[got as number];
      if (path === 'kind') got = gen.LiquidityRequestKind[got as number];
      assert.deepEqual(normalize(got), want, path);
    }
    const size = (gen as Record<string, unknown>)[`get${a.name}Size`] as (() => number) | undefined;
    if (size) assert.equal(size(), bytes.length, 'account size');
  });
}
