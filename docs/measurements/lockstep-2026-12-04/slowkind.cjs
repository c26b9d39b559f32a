const t=JSON.parse(require('fs').readFileSync(process.argv[2])).traceEvents.filter(e=>e.ph==='X');
const by=new Map();
for(const e of t){const k=e.args.step;let o=by.get(k);if(!o){o={step:k,w:{}};by.set(k,o);}const w=(o.w[e.tid]??={start:Infinity,c:{}});w.start=Math.min(w.start,e.ts);w.c[e.name]=(w.c[e.name]||0)+e.dur;}
const steps=[...by.values()].sort((a,b)=>a.step-b.step).filter(o=>o.step>100);
for(let i=0;i<steps.length-1;i++){steps[i].wall=(steps[i+1].w[0].start-steps[i].w[0].start)/1000;}
const ok=steps.slice(0,-1);const med=a=>{a=[...a].sort((x,y)=>x-y);return a[a.length>>1];};
const M=med(ok.map(o=>o.wall));const slow=ok.filter(o=>o.wall>1.3*M);
const names=['forward/backward D','apply D','forward/backward G','apply G'];
const pm=Object.fromEntries(names.map(n=>[n,med(ok.map(o=>o.w[0].c[n]||0))]));
let both=0;for(const o of slow){if(names.some(n=>(o.w[0].c[n]||0)>pm[n]+1500&&(o.w[1].c[n]||0)>pm[n]+1500))both++;}
console.log({steps:ok.length,slow:slow.length,slowFrac:(slow.length/ok.length).toFixed(3),bothSlowSamePhase:both});
