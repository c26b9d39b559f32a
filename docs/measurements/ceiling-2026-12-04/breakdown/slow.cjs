const r=require('fs').readFileSync(process.argv[2]+'/steps.jsonl','utf8').trim().split('\n').map(JSON.parse);
const d=[];for(let i=100;i<r.length;i++)d.push({step:r[i].step,ms:(r[i].seconds-r[i-1].seconds)*1000});
const s=d.map(x=>x.ms).sort((a,b)=>a-b);const med=s[s.length>>1];
const slow=d.filter(x=>x.ms>1.3*med);
console.log('median',med.toFixed(2),'slow',slow.length,'excess in slow',slow.reduce((a,x)=>a+x.ms-med,0).toFixed(0),'excess total',d.reduce((a,x)=>a+x.ms-med,0).toFixed(0));
const gaps=[];for(let i=1;i<slow.length;i++)gaps.push(slow[i].step-slow[i-1].step);
const h={};gaps.forEach(g=>h[g]=(h[g]||0)+1);console.log('gaps',JSON.stringify(Object.entries(h).sort((a,b)=>b[1]-a[1]).slice(0,15)));
console.log(slow.slice(0,60).map(x=>x.step+':'+x.ms.toFixed(0)).join(' '));
