const p = JSON.parse(require('fs').readFileSync(process.argv[2])).head ?? JSON.parse(require('fs').readFileSync(process.argv[2]));
const root = p.head ?? p;
const self = new Map(); let total = 0;
const walk = (n, stack) => {
  const key = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').slice(-2).join('/')}:${n.callFrame.lineNumber}`;
  const sz = n.selfSize; total += sz;
  const st = [...stack, key];
  if (sz) { const k = st.slice(-4).join(' < '); self.set(k, (self.get(k) ?? 0) + sz); }
  for (const c of n.children) walk(c, st);
};
walk(root, []);
console.log('total MB sampled', (total / 1e6).toFixed(1));
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log((v / 1e6).toFixed(2).padStart(7), k.split(' < ').reverse().join(' < '));
