"""The inline CSS and JavaScript of summary.html (no external asset: the page works offline).

The script filters the one requirements table by verdict, level and profile and searches it by ID
or text. Its state lives in the URL fragment (`#verdict=fail,warning&level=MUST&profile=yixin&q=code`),
so a filtered view can be bookmarked, linked, or opened by a headless browser. Without a fragment
it shows failures, errors and warnings when there are any; without JavaScript it shows everything,
findings first.

CSP is the page's Content-Security-Policy: nothing loads or runs but this CSS and this script,
allowed by their SHA-256 (a `<meta>` policy, so it holds for a file opened from disk). Whatever a
target's answer slipped into the page could neither run (no inline script, handler or `javascript:`
URL but the hashed one) nor call home (`default-src 'none'`, `form-action 'none'`).
"""

import base64
import hashlib

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1280px;padding:1.2rem;
color:#1d2330;background:#fff}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.15rem;margin:1.6rem 0 .4rem;border-bottom:1px solid #d8dde6;
padding-bottom:.2rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0}th,td{border:1px solid #d8dde6;padding:.3rem .5rem;
text-align:left;vertical-align:top}th{background:#f2f4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:.05rem .5rem;border-radius:.7rem;font-weight:600;white-space:nowrap}
.v-pass{background:#d7f5dd;color:#0d5a1e}.v-fail,.v-error{background:#fbd5d5;color:#8a1111}
.v-warning{background:#fdf0c4;color:#6b4c00}.v-not-run,.v-not-applicable,.v-incomplete{background:#e4e7ec;color:#394150}
.headline{font-size:1.2rem;margin:.3rem 0}dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;
margin:.4rem 0}dt{font-weight:600}dd{margin:0;word-break:break-all}
pre{background:#f6f8fa;border:1px solid #d8dde6;padding:.6rem;overflow-x:auto;white-space:pre-wrap;
word-break:break-all;font-size:12px;max-height:32rem}
details{margin:.25rem 0}summary{cursor:pointer;font-weight:600}.muted{color:#5b6475}.flag{font-weight:600;color:#8a1111}
code,.id{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
table.requirements{table-layout:fixed}table.requirements td{overflow-wrap:anywhere}
col.c-id{width:14rem}col.c-profile{width:5.5rem}col.c-level{width:5rem}col.c-verdict{width:6.5rem}
col.c-reason{width:34%}col.c-text{width:18%}col.c-source{width:8rem}col.c-num{width:4.5rem}
tr[data-verdict=fail] td,tr[data-verdict=error] td{background:#fff6f6}
tr[data-verdict=warning] td{background:#fffbea}
#filters{position:sticky;top:0;background:#fff;padding:.5rem 0;border-bottom:1px solid #d8dde6;display:flex;
flex-wrap:wrap;gap:.4rem 1rem;align-items:center;z-index:1}
#filters label{white-space:nowrap}#filters input[type=search]{min-width:16rem;padding:.2rem .4rem}
#filters .chip{border:1px solid #d8dde6;border-radius:.8rem;padding:.1rem .5rem}
#shown{font-weight:600}a.id{white-space:nowrap}table.reasons td:nth-child(3){width:45%}
details.trace>summary{font-weight:400}table.trace td.num{width:3.5rem}table.trace .badge{font-size:11px;
margin:0 .5rem 0 .2rem;padding:0 .35rem}tr[data-trace=gap] td,tr[data-trace=uncovered] td{background:#fffbea}
tr[data-trace=not-testable] td:last-child{color:#5b6475}
"""

JS = r"""
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll('#requirements tbody tr'));
  var boxes = Array.prototype.slice.call(document.querySelectorAll('#filters input[name=verdict]'));
  var level = document.getElementById('f-level'), profile = document.getElementById('f-profile');
  var search = document.getElementById('f-q'), shown = document.getElementById('shown');
  function parse(hash) {
    var out = {};
    hash.replace(/^#/, '').split('&').forEach(function (part) {
      var kv = part.split('=');
      if (kv.length === 2) { out[decodeURIComponent(kv[0])] = decodeURIComponent(kv[1].replace(/\+/g, ' ')); }
    });
    return out;
  }
  function load(state) {
    var wanted = state.verdict === undefined || state.verdict === 'all' ? null : state.verdict.split(',');
    if (state.verdict === undefined) {
      var findings = rows.some(function (r) { return /^(fail|error|warning)$/.test(r.dataset.verdict); });
      wanted = findings ? ['fail', 'error', 'warning'] : null;
    }
    boxes.forEach(function (b) { b.checked = wanted === null || wanted.indexOf(b.value) >= 0; });
    level.value = state.level || ''; profile.value = state.profile || ''; search.value = state.q || '';
  }
  function apply(write) {
    var verdicts = boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
    var q = search.value.trim().toLowerCase(), n = 0;
    rows.forEach(function (r) {
      var ok = verdicts.indexOf(r.dataset.verdict) >= 0 && (!level.value || r.dataset.level === level.value) &&
        (!profile.value || r.dataset.profile === profile.value) && (!q || r.dataset.search.indexOf(q) >= 0);
      r.hidden = !ok; if (ok) { n += 1; }
    });
    shown.textContent = n + ' of ' + rows.length + ' requirements shown';
    document.body.dataset.shown = String(n);
    if (write) {
      var parts = ['verdict=' + (verdicts.length === boxes.length ? 'all' : verdicts.join(','))];
      if (level.value) { parts.push('level=' + level.value); }
      if (profile.value) { parts.push('profile=' + encodeURIComponent(profile.value)); }
      if (q) { parts.push('q=' + encodeURIComponent(q)); }
      history.replaceState(null, '', '#' + parts.join('&'));
    }
  }
  function fromHash() {
    var state = parse(location.hash);
    if (location.hash && Object.keys(state).length === 0) { return; }  // a plain anchor
    load(state); apply(false);
  }
  boxes.concat([level, profile]).forEach(function (el) {
    el.addEventListener('change', function () { apply(true); });
  });
  search.addEventListener('input', function () { apply(true); });
  window.addEventListener('hashchange', fromHash);
  load(parse(location.hash)); apply(false);
})();
"""


def _hash(source: str) -> str:
    """The CSP source expression allowing exactly this inline element's text (CSP3 §8.4)."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


def csp(*, script: bool = True) -> str:
    """The policy of a report page: its own style, its own script (or none), nothing else."""
    scripts = _hash(JS) if script else "'none'"
    return (
        f"default-src 'none'; style-src {_hash(CSS)}; script-src {scripts}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )


CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{csp()}">'
CSP_META_NO_SCRIPT = f'<meta http-equiv="Content-Security-Policy" content="{csp(script=False)}">'
