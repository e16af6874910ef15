"""The report's stylesheet and its small, optional script (the page works without it)."""

from __future__ import annotations

CSS = """
#unverified{padding:.4em .8em;border-left:6px solid #cf222e;background:#ffebe9}
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;
max-width:1200px;padding:1em 2em;color:#1b1f24}
h1{font-size:1.6em;margin:.2em 0}h2{margin-top:1.6em;border-bottom:2px solid #d0d7de;
padding-bottom:.2em}table{border-collapse:collapse;width:100%;margin:.5em 0}
th,td{border:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#f6f8fa}.o{font-weight:600;border-radius:3px;padding:0 .3em;
display:inline-block;max-width:100%}
.blocked{background:#dafbe1;color:#116329}.reachable{background:#ffebe9;color:#a40e26}
.inconclusive{background:#fff8c5;color:#7d4e00}.waived{background:#ddf4ff;color:#0a3069}
.not-reviewed{background:#eaeef2;color:#57606a}.verdict{font-size:1.15em;padding:.6em .8em;
border-left:6px solid #57606a;background:#f6f8fa}.verdict.reachable{border-color:#cf222e}
.verdict.blocked{border-color:#1a7f37}.verdict.inconclusive{border-color:#bf8700}
#integrity{padding:.4em .8em;border-left:6px solid #1a7f37}#integrity.unsigned{border-color:#bf8700}
.verdict.waived{border-color:#0969da}.verdict.partial{border-color:#bf8700;background:#fff8c5}.verdict.not-reviewed{border-color:#57606a}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em}dt{font-weight:600}
dd{margin:0;word-break:break-all}
pre{white-space:pre-wrap;margin:.3em 0;font-size:.9em}
code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}
#checks .r{display:grid;grid-template-columns:10em 9em 6em 13em minmax(0,1fr);
border-bottom:1px solid #d0d7de;scroll-margin-top:3em}
#checks .r>*{padding:.25em .4em;overflow-wrap:anywhere}
#checks .h{font-weight:600;background:#f6f8fa}#checks pre{display:none}
#checks .r:target pre,#checks .r.open pre{display:block}#checks .r:target{outline:2px solid #0969da}
#checks .k{content-visibility:auto;contain-intrinsic-size:auto 6000px}
.finding{border-left:4px solid #cf222e;padding:.1em .8em;margin:.8em 0;break-inside:avoid}
.finding h3{margin:.3em 0}.sev{text-transform:uppercase;font-size:.8em;padding:0 .3em;
border-radius:3px;background:#eaeef2}.sev.critical,.sev.high{background:#ffebe9;color:#a40e26}
.wrap{overflow-wrap:anywhere;word-break:break-all}.signoff td{height:2.2em;width:70%}
.scroll{overflow-x:auto}.scroll th,.scroll td{white-space:nowrap}
#filters{position:sticky;top:0;z-index:1;background:#fff;padding:.4em 0;display:none;gap:.5em}
#filters input{flex:1;padding:.3em}.hidden,#checks .r.hidden{display:none}.muted{color:#57606a}
@media print{#filters{display:none!important}#checks pre{display:block}a{color:inherit}
#checks .k{content-visibility:visible}body{max-width:none;padding:0;font-size:9.5pt}
h1,h2,h3{break-after:avoid;page-break-after:avoid}tr,.finding,#checks .r{break-inside:avoid}
.scroll{overflow:visible}.scroll th,.scroll td{white-space:normal}
table.matrix{table-layout:fixed;font-size:8pt}table.matrix td,table.matrix th{
overflow-wrap:anywhere;padding:.15em .25em}summary{list-style:none}
summary::-webkit-details-marker{display:none}summary::marker{content:""}
#checks .r{grid-template-columns:7em 7em 6em 9em minmax(0,1fr)}}
"""


def page_css(report_id: str, results_hash: str) -> str:
    """Print on A4 or Letter alike (the page's own size, margins in mm): a running header
    with the report id and the results' hash, page numbers at the foot."""
    return (
        "@page{margin:18mm 12mm 16mm 12mm;"
        f"@top-left{{content:'prodwall report {report_id}';font-size:8pt;color:#57606a}}"
        f"@top-right{{content:'results sha256 {results_hash[:16]}';font-size:8pt;"
        "color:#57606a}"
        "@bottom-right{content:'page ' counter(page) ' of ' counter(pages);font-size:8pt;"
        "color:#57606a}}"
    )


JS = """
(function(){var f=document.getElementById('filters');f.style.display='flex';
var q=document.getElementById('q'),o=document.getElementById('fo'),c=document.getElementById('fc'),
v=document.getElementById('fv'),n=document.getElementById('shown'),
rows=Array.prototype.slice.call(document.querySelectorAll('#checks .k>.r'));
var text=null;
function apply(){var s=q.value.toLowerCase(),k=0;
if(s&&!text){text=rows.map(function(r){return r.textContent.toLowerCase()})}
for(var i=0;i<rows.length;i++){var r=rows[i];
var ok=(!s||text[i].indexOf(s)>=0)&&(!o.value||r.dataset.o===o.value)&&
(!c.value||(' '+r.children[1].textContent+' ').indexOf(' '+c.value+' ')>=0)&&
(!v.value||r.children[2].textContent===v.value);
r.classList.toggle('hidden',!ok);if(ok)k++}n.textContent=k}
var t;function later(){clearTimeout(t);t=setTimeout(apply,120)}
q.addEventListener('input',later);[o,c,v].forEach(function(e){e.addEventListener('change',apply)});
if(location.hash.indexOf('#q=')===0){q.value=decodeURIComponent(location.hash.slice(3));apply()}
window.addEventListener('hashchange',function(){if(location.hash.indexOf('#q=')===0){
q.value=decodeURIComponent(location.hash.slice(3));apply()}});
document.getElementById('checks').addEventListener('click',function(ev){
var a=ev.target;if(a.tagName!=='A')return;ev.preventDefault();
a.closest('.r').classList.toggle('open')});
document.body.dataset.ready=Math.round(performance.now());
})();
"""
