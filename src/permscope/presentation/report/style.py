"""The report's inline stylesheet and script (no fonts, images or scripts are fetched: the file works offline)."""

from __future__ import annotations

CSS = """
:root{--fg:#1d2330;--muted:#5b6475;--line:#d9dde5;--bg:#f6f7f9;--card:#fff;--crit:#8b1020;--high:#c4320a;
--medium:#b58105;--low:#3a7d44;--accent:#2456a6}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#c9cfdb}
main{max-width:1200px;margin:0 auto;padding:20px 28px 60px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 16px;min-width:150px}
.card b{display:block;font-size:24px}
table{border-collapse:collapse;background:var(--card);margin:6px 0 12px;width:100%}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.sev{display:inline-block;border-radius:3px;padding:0 6px;color:#fff;font-size:12px;font-weight:600}
.sev-critical{background:var(--crit)}.sev-high{background:var(--high)}
.sev-medium{background:var(--medium)}.sev-low{background:var(--low)}
.pci{display:inline-block;border-radius:10px;padding:0 8px;font-weight:600;border:1px solid}
.pci-high{color:var(--high);border-color:var(--high)}.pci-medium{color:var(--medium);border-color:var(--medium)}
.pci-low{color:var(--low);border-color:var(--low)}.pci-none{color:var(--muted);border-color:var(--line)}
details.identity{background:var(--card);border:1px solid var(--line);border-radius:6px;margin:8px 0;padding:0 14px}
details.identity>summary{cursor:pointer;padding:10px 0;font-weight:600;list-style-position:outside}
details.identity>summary .meta{font-weight:400;color:var(--muted);margin-left:8px}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:16px}
@media (max-width:800px){.cols{grid-template-columns:1fr}}
.finding{border-left:4px solid var(--line);padding:4px 12px;margin:10px 0}
.finding.f-critical{border-color:var(--crit)}.finding.f-high{border-color:var(--high)}
.finding.f-medium{border-color:var(--medium)}.finding.f-low{border-color:var(--low)}
.finding .fix{background:#eef6ee;border:1px solid #cfe3cf;border-radius:4px;padding:6px 10px;margin:6px 0}
dl.evidence{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:6px 0}
dl.evidence dt{color:var(--muted)}dl.evidence dd{margin:0;word-break:break-word}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#eef0f4;padding:0 3px;border-radius:3px}
ol.path{list-style:none;padding:0;margin:8px 0}
ol.path li{display:flex;align-items:stretch;gap:8px;margin:4px 0;flex-wrap:wrap}
.node{border:1px solid var(--accent);border-radius:4px;padding:3px 8px;background:#f0f4fb;word-break:break-all}
.node.target{border-color:var(--high);background:#fdf1ec}
.edge{align-self:center;color:var(--muted);max-width:520px}
.edge .tech{color:var(--fg);font-weight:600}
.unseen{display:inline-block;background:#fff4d6;border:1px dashed var(--medium);border-radius:3px;padding:0 5px;
font-size:12px;color:#6b4d00}
.bar{display:flex;height:14px;border-radius:3px;overflow:hidden;min-width:160px;background:#eef0f4}
.bar span{display:block;height:100%}
.bar .b-low{background:var(--low)}.bar .b-medium{background:var(--medium)}.bar .b-high{background:var(--high)}
.muted{color:var(--muted)}
#filter{padding:6px 10px;width:340px;max-width:100%;border:1px solid var(--line);border-radius:4px}
ul.compact{margin:4px 0;padding-left:18px}
details.fold{display:inline-block;vertical-align:top}
details.fold>summary{cursor:pointer;color:var(--accent)}
details.fold dl{margin:4px 0}
a.tech{color:var(--accent)}
"""

SCRIPT = """
(function(){document.querySelectorAll('a.same').forEach(function(a){a.addEventListener('click',function(){
var t=document.getElementById(a.getAttribute('href').slice(1));
for(var n=t;n;n=n.parentElement){if(n.tagName==='DETAILS')n.open=true;}});});})();
(function(){document.body.setAttribute('data-ready','1');
var box=document.getElementById('filter');if(!box)return;
box.addEventListener('input',function(){var q=box.value.toLowerCase();
document.querySelectorAll('details.identity').forEach(function(d){
d.style.display=(!q||(d.getAttribute('data-search')||'').indexOf(q)>=0)?'':'none';});});})();
"""
