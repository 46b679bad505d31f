/**
 * Where a V8 CPU profile spends its samples, by function (self time), for
 * comparing two runs of a bench side by side:
 *
 *   node --cpu-prof --cpu-prof-dir /tmp/p1 --import tsx bench/datapath/inline-switch.ts …
 *   npx tsx bench/prof-top.ts /tmp/p1/*.cpuprofile [/tmp/p2/*.cpuprofile] [--top 25]
 *
 * With two profiles, prints each function's share in both.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number }
interface Profile { nodes: Node[]; samples?: number[] }

function shares(file: string): Map<string, number> {
    const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const hits = new Map<number, number>();
    if (p.samples?.length) for (const id of p.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
    else for (const n of p.nodes) hits.set(n.id, n.hitCount ?? 0);
    const total = [...hits.values()].reduce((a, b) => a + b, 0);
    const out = new Map<string, number>();
    for (const [id, h] of hits) {
        const f = byId.get(id)!.callFrame;
        const key = `${f.functionName || '(anonymous)'} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
        out.set(key, (out.get(key) ?? 0) + (100 * h) / total);
    }
    return out;
}

const args = process.argv.slice(2);
const ti = args.indexOf('--top');
const top = ti >= 0 ? Number(args.splice(ti, 2)[1]) : 25;
const runs = args.map(shares);
const keys = [...new Set(runs.flatMap((r) => [...r.keys()]))]
    .sort((a, b) => Math.max(...runs.map((r) => r.get(b) ?? 0)) - Math.max(...runs.map((r) => r.get(a) ?? 0)))
    .slice(0, top);
console.log(args.map((f, i) => `[${i + 1}] ${f}`).join('\n'));
for (const k of keys) console.log(`${runs.map((r) => `${(r.get(k) ?? 0).toFixed(1).padStart(5)} %`).join('  ')}  ${k}`);
