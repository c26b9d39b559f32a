// per step per worker: sums of span categories, plus gaps (step wall minus spans); then where slow steps' excess goes
const t=JSON.parse(require('fs').readFileSync(process.argv[2])).traceEvents.filter(e=>e.ph==='X');
const by=new Map();
for(const e of t){const k=e.tid+':'+e.args.step;let o=by.get(k);if(!o){o={tid:e.tid,step:e.args.step,start:Infinity,end:0,cats:{}};by.set(k,o);}o.start=Math.min(o.start,e.ts);o.end=Math.max(o.end,e.ts+e.dur);o.cats[e.name]=(o.cats[e.name]||0)+e.dur;}
const steps=[...by.values()].filter(o=>o.step>100);
// wall per step per worker: from start of this step's first span to start of next step's first span
const m=new Map(steps.map(o=>[o.tid+':'+o.step,o]));
for(const o of steps){const n=m.get(o.tid+':'+(o.step+1));o.wall=n?n.start-o.start:undefined;}
const ok=steps.filter(o=>o.wall);
const names=[...new Set(t.map(e=>e.name))];
const med=a=>{a=[...a].sort((x,y)=>x-y);return a[a.length>>1];};
const mean=a=>a.reduce((x,y)=>x+y,0)/a.length;
const row=(label,set)=>{const r={label,n:set.length,wall_med:med(set.map(o=>o.wall))/1000,wall_mean:mean(set.map(o=>o.wall))/1000};for(const nm of names)r[nm]=+(mean(set.map(o=>o.cats[nm]||0))/1000).toFixed(3);r.gap=+(mean(set.map(o=>o.wall-Object.values(o.cats).reduce((x,y)=>x+y,0)))/1000).toFixed(3);return r;};
const medW=med(ok.map(o=>o.wall));
console.log(row('all',ok));
console.log(row('slow>1.3med',ok.filter(o=>o.wall>1.3*medW)));
console.log(row('normal',ok.filter(o=>o.wall<=1.3*medW)));
