import os, sys, time, collections
# per-thread CPU over [t0, t0+dt] of every trainer process (cli.js coordinator/worker)
def snap():
    out = {}
    for pid in os.listdir('/proc'):
        if not pid.isdigit(): continue
        try: cmd = open(f'/proc/{pid}/cmdline','rb').read().split(b'\0')
        except: continue
        if not any(c.endswith(b'cli.js') for c in cmd): continue
        role = next((c.decode() for c in cmd if c in (b'coordinator', b'worker')), '?')
        for tid in os.listdir(f'/proc/{pid}/task'):
            try: st = open(f'/proc/{pid}/task/{tid}/stat').read()
            except: continue
            comm = st[st.index('(')+1:st.rindex(')')]
            f = st[st.rindex(')')+2:].split()
            out[(role, pid, tid, comm)] = int(f[11]) + int(f[12])
    return out
time.sleep(float(sys.argv[1])); a = snap(); t = time.time(); time.sleep(float(sys.argv[2])); b = snap(); dt = time.time() - t
hz = os.sysconf('SC_CLK_TCK'); agg = collections.defaultdict(float)
for k, v in b.items():
    d = (v - a.get(k, 0)) / hz / dt
    role, pid, tid, comm = k
    name = 'main' if pid == tid else comm
    agg[(role, pid, name)] += d
for k in sorted(agg): 
    if agg[k] > 0.002: print(f'{k[0]:12s} {k[1]:>8s} {k[2]:20s} {agg[k]*100:6.1f}% of a core')
