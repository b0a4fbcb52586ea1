import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { areOrdered, criticalPath, depth, findCycle, topologicalLevels, topologicalOrder, transitiveDependencies, type DagNode } from '../../src/engine/graph/dag';
import { prng as rng } from '../support/random';


/** A random DAG: node i may depend only on nodes < i (then shuffled, so input order is not topological). */
function randomDag(seed: number, n: number, p = 0.3): DagNode[] {
  const r = rng(seed);
  const nodes: DagNode[] = [];
  for (let i = 0; i < n; i++) {
    const deps: string[] = [];
    for (let j = 0; j < i; j++) if (r() < p) deps.push(`n${j}`);
    nodes.push({ id: `n${i}`, dependsOn: deps, weight: 1 + Math.floor(r() * 5) });
  }
  for (let i = nodes.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [nodes[i], nodes[j]] = [nodes[j], nodes[i]];
  }
  return nodes;
}

/** Longest weighted chain by trying every path (exponential; fine for n ≤ 9). */
function bruteForceLongest(nodes: DagNode[]): number {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const longestEndingAt = (id: string): number => {
    const n = byId.get(id)!;
    return (n.weight ?? 1) + Math.max(0, ...n.dependsOn.map(longestEndingAt));
  };
  return Math.max(0, ...nodes.map((n) => longestEndingAt(n.id)));
}

const g = (spec: Record<string, string[]>): DagNode[] => Object.entries(spec).map(([id, dependsOn]) => ({ id, dependsOn }));

describe('dag: fixed graphs', () => {
  const diamond = g({ a: [], b: ['a'], c: ['a'], d: ['b', 'c'], e: [] });

  it('groups a diamond into levels in input order', () => {
    assert.deepEqual(topologicalLevels(diamond), [['a', 'e'], ['b', 'c'], ['d']]);
    assert.equal(depth(diamond), 3);
    assert.equal(depth([]), 0);
  });

  it('finds the critical path by weight', () => {
    const w = diamond.map((n) => ({ ...n, weight: n.id === 'c' ? 5 : 1 }));
    assert.deepEqual(criticalPath(w), { path: ['a', 'c', 'd'], length: 7 });
    assert.deepEqual(criticalPath([]), { path: [], length: 0 });
  });

  it('computes transitive dependencies and ordering', () => {
    assert.deepEqual([...transitiveDependencies(diamond, 'd')].sort(), ['a', 'b', 'c']);
    assert.equal(areOrdered(diamond, 'a', 'd'), true);
    assert.equal(areOrdered(diamond, 'b', 'c'), false);
    assert.equal(areOrdered(diamond, 'e', 'd'), false);
  });

  it('names a cycle starting and ending with the same id', () => {
    assert.deepEqual(findCycle(g({ t1: [], t2: ['t1', 't4'], t4: ['t2'] })), ['t2', 't4', 't2']);
    assert.equal(findCycle(diamond), undefined);
    assert.throws(() => topologicalOrder(g({ a: ['b'], b: ['a'] })), /cycle/);
  });

  it('handles a 5,000-long chain without overflowing the stack', () => {
    const chain = Array.from({ length: 5000 }, (_, i) => ({ id: `c${i}`, dependsOn: i ? [`c${i - 1}`] : [] }));
    assert.equal(findCycle(chain), undefined);
    // depth() is checked on a shorter chain: topologicalLevels rebuilds its index per node (O(n²)).
    assert.equal(depth(chain.slice(0, 500)), 500);
    chain[0] = { id: 'c0', dependsOn: ['c4999'] };
    assert.equal(findCycle(chain)?.length, 5001);
  });
});

describe('dag: properties of random graphs', () => {
  it('puts every dependency in an earlier level, and every task in exactly one level', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const nodes = randomDag(seed, 1 + (seed % 25));
      const levels = topologicalLevels(nodes);
      const levelOf = new Map<string, number>();
      levels.forEach((ids, l) => ids.forEach((id) => levelOf.set(id, l)));
      assert.equal(levelOf.size, nodes.length, `seed ${seed}`);
      for (const n of nodes) {
        for (const d of n.dependsOn) assert.ok(levelOf.get(d)! < levelOf.get(n.id)!, `seed ${seed}: ${d} before ${n.id}`);
        // Minimal levels: a task sits right after its latest dependency.
        const expected = n.dependsOn.length ? Math.max(...n.dependsOn.map((d) => levelOf.get(d)!)) + 1 : 0;
        assert.equal(levelOf.get(n.id), expected, `seed ${seed}: level of ${n.id}`);
      }
      assert.equal(depth(nodes), levels.length);
    }
  });

  it('orders dependencies before dependents', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const nodes = randomDag(seed, 2 + (seed % 30));
      const pos = new Map(topologicalOrder(nodes).map((id, i) => [id, i]));
      for (const n of nodes) for (const d of n.dependsOn) assert.ok(pos.get(d)! < pos.get(n.id)!, `seed ${seed}`);
    }
  });

  it('finds a critical path as long as the longest chain found by brute force', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const nodes = randomDag(seed, 1 + (seed % 9), 0.4);
      const cp = criticalPath(nodes);
      assert.equal(cp.length, bruteForceLongest(nodes), `seed ${seed}`);
      // The path is a real chain and its weights add up.
      const byId = new Map(nodes.map((n) => [n.id, n]));
      for (let i = 1; i < cp.path.length; i++) assert.ok(byId.get(cp.path[i])!.dependsOn.includes(cp.path[i - 1]), `seed ${seed}`);
      assert.equal(cp.path.reduce((s, id) => s + (byId.get(id)!.weight ?? 1), 0), cp.length, `seed ${seed}`);
    }
  });

  it('detects the cycle made by any back-edge, and the cycle is real', () => {
    let tested = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const nodes = randomDag(seed, 3 + (seed % 20), 0.35);
      assert.equal(findCycle(nodes), undefined, `seed ${seed}`);
      // Pick a node with a transitive dependency and add the reverse edge.
      const r = rng(seed * 7919);
      const withDeps = nodes.filter((n) => n.dependsOn.length > 0);
      if (withDeps.length === 0) continue;
      const from = withDeps[Math.floor(r() * withDeps.length)];
      const ancestors = [...transitiveDependencies(nodes, from.id)];
      const to = ancestors[Math.floor(r() * ancestors.length)];
      const cyclic = nodes.map((n) => (n.id === to ? { ...n, dependsOn: [...n.dependsOn, from.id] } : n));
      const cycle = findCycle(cyclic);
      assert.ok(cycle, `seed ${seed}: back-edge ${to} -> ${from.id} not detected`);
      assert.equal(cycle[0], cycle[cycle.length - 1]);
      const byId = new Map(cyclic.map((n) => [n.id, n]));
      for (let i = 0; i + 1 < cycle.length; i++) assert.ok(byId.get(cycle[i])!.dependsOn.includes(cycle[i + 1]), `seed ${seed}: ${cycle.join(' -> ')}`);
      assert.throws(() => topologicalLevels(cyclic));
      tested++;
    }
    assert.ok(tested > 200);
  });

  it('finds transitive dependencies equal to reachability', () => {
    for (let seed = 1; seed <= 100; seed++) {
      const nodes = randomDag(seed, 2 + (seed % 15));
      const byId = new Map(nodes.map((n) => [n.id, n]));
      for (const n of nodes) {
        const reach = new Set<string>();
        const walk = (id: string) => byId.get(id)!.dependsOn.forEach((d) => { if (!reach.has(d)) { reach.add(d); walk(d); } });
        walk(n.id);
        assert.deepEqual([...transitiveDependencies(nodes, n.id)].sort(), [...reach].sort(), `seed ${seed}`);
      }
    }
  });
});
