const r=require('fs').readFileSync(process.argv[2]+'/steps.jsonl','utf8').trim().split('\n').map(JSON.parse);
const d=[];for(let i=100;i<r.length;i++)d.push({step:r[i].step,ms:(r[i].seconds-r[i-1].seconds)*1000});
const s=d.map(x=>x.ms).sort((a,b)=>a-b);const med=s[s.length>>1];
const sum=s.reduce((a,b)=>a+b,0);
console.log('n',s.length,'median',med.toFixed(2),'mean',(sum/s.length).toFixed(2),'p90',s[Math.floor(s.length*.9)].toFixed(1),'p99',s[Math.floor(s.length*.99)].toFixed(1),'max',s[s.length-1].toFixed(1));
const excess=d.map(x=>x.ms-med);console.log('excess over median total ms',excess.reduce((a,b)=>a+b,0).toFixed(0));
for(const k of [2,4,8,16]){const b=new Array(k).fill(0);d.forEach(x=>b[x.step%k]+=x.ms-med);console.log('mod',k,b.map(v=>v.toFixed(0)).join(' '));}
const big=d.filter(x=>x.ms>med*2);console.log('>2x',big.length,big.slice(0,30).map(x=>x.step+':'+x.ms.toFixed(0)).join(' '));
