// notsofar meeting report: timeline, transcript, stats, search, rename, downloads, audio.
// Reads the JSON data block #report-data; the audio is a link, or the #audio-data block.
(function () {
  "use strict";
  const t0 = performance.now();
  const $ = (id) => document.getElementById(id);
  const D = JSON.parse($("report-data").textContent);
  const audio = $("audio");
  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const ERR_COLORS = { i: "#d0021b", d: "#7b61ff", s: "#f5a623", x: "#00897b" };
  const ERR_NAMES = { i: "insertion", d: "deletion", s: "substitution", x: "speaker error" };
  const speakers = D.speakers;
  const spkIndex = new Map(speakers.map((s, i) => [s, i]));
  const names = new Map(speakers.map((s) => [s, s]));
  const color = (s) => COLORS[spkIndex.get(s) % COLORS.length];
  const dur = Math.max(D.duration, 1e-3);
  const esc = (s) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

  // ---- segments in Python's Transcript.sorted() order: (start_time, end_time), stable
  const segs = D.segments.map((s, i) => [s, i]).sort((a, b) =>
    (a[0].start_time - b[0].start_time) || (a[0].end_time - b[0].end_time) || (a[1] - b[1])).map((p) => p[0]);

  // ---- words: timings from word_timings, else spread over the segment by characters
  const wText = [], wStart = [], wEnd = [], wSpk = [];
  const tokens = (s) => s.split(/\s+/).filter(Boolean);
  for (const s of segs) {
    const tok = tokens(s.words);
    const wt = s.word_timings && s.word_timings.length === tok.length ? s.word_timings : null;
    const chars = tok.reduce((n, w) => n + w.length + 1, 0) || 1;
    let c = 0;
    for (let k = 0; k < tok.length; k++) {
      let a = s.start_time + (s.end_time - s.start_time) * c / chars;
      c += tok[k].length + 1;
      let b = s.start_time + (s.end_time - s.start_time) * c / chars;
      if (wt && wt[k] && wt[k][0] != null && wt[k][1] != null) { a = wt[k][0]; b = wt[k][1]; }
      wText.push(tok[k]); wStart.push(a); wEnd.push(b); wSpk.push(s.speaker);
    }
  }
  const nWords = wText.length;
  const byStart = Array.from({ length: nWords }, (_, i) => i).sort((a, b) => wStart[a] - wStart[b]);
  const sortedStart = Float64Array.from(byStart, (i) => wStart[i]);

  const clock = (t, ms) => {
    t = Math.max(0, t);
    const h = Math.floor(t / 3600), m = Math.floor(t / 60) % 60, s = t % 60;
    const ss = ms ? s.toFixed(1).padStart(4, "0") : String(Math.floor(s)).padStart(2, "0");
    return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + ss;
  };

  // ---- summary
  const st = D.stats;
  const speech = D.speech_s;
  const ov = D.overlaps.reduce((a, x) => a + x[1] - x[0], 0);
  $("summary").textContent = `${clock(dur)} · ${speakers.length} speakers · ${nWords} words · ` +
    `${clock(speech)} of speech · ${clock(ov)} overlapped (${(100 * ov / dur).toFixed(1)} %)`;

  // ---- transcript, in turns (runs of one speaker in time order)
  const nameEls = new Map(speakers.map((s) => [s, []]));
  {
    const parts = [];
    let w = 0, prev = null;
    for (let i = 0; i < segs.length; i++) {
      const s = segs[i];
      if (s.speaker !== prev) {
        if (prev !== null) parts.push("</p></div>");
        parts.push(`<div class="turn"><div class="who"><span class="name" data-spk="${spkIndex.get(s.speaker)}" ` +
          `style="color:${color(s.speaker)}">${esc(s.speaker)}</span><span class="t" data-t="${s.start_time}">` +
          `${clock(s.start_time)}</span></div><p>`);
        prev = s.speaker;
      }
      const n = tokens(s.words).length;
      for (let k = 0; k < n; k++, w++) parts.push(`<span class="w" data-i="${w}">${esc(wText[w])}</span> `);
    }
    if (prev !== null) parts.push("</p></div>");
    $("transcript").innerHTML = parts.join("");
  }
  const wordEls = $("transcript").getElementsByClassName("w");
  for (const el of $("transcript").querySelectorAll(".name")) nameEls.get(speakers[+el.dataset.spk]).push(el);

  // ---- stats table with rename fields
  {
    const rows = speakers.map((s, i) => {
      const x = st[s];
      return `<tr><td><input type="text" data-spk="${i}" value="${esc(s)}" aria-label="Name of ${esc(s)}" ` +
        `style="border-left-color:${color(s)}"></td><td>${clock(x.talk_s)}</td><td>${x.turns}</td>` +
        `<td>${clock(x.overlap_s)}</td><td>${Math.round(x.wpm)}</td></tr>`;
    });
    $("stats").tBodies[0].innerHTML = rows.join("");
  }

  // ---- timeline: one SVG, x in seconds (viewBox), stretched by the zoom
  const LANE = 22;
  const lanes = speakers.map((s) => ({ label: s, spk: s }));
  lanes.push({ label: "overlap" });
  const errs = D.errors ? D.errors.errors : [];
  if (D.errors) for (const k of "idsx") lanes.push({ label: ERR_NAMES[k], err: k });
  const H = lanes.length * LANE;
  {
    const p = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${dur} ${H}" preserveAspectRatio="none" height="${H}">`];
    lanes.forEach((l, i) => { if (i % 2) p.push(`<rect x="0" y="${i * LANE}" width="${dur}" height="${LANE}" fill="#f6f6f4"/>`); });
    for (const s of segs) {
      const i = spkIndex.get(s.speaker);
      p.push(`<rect x="${s.start_time}" y="${i * LANE + 3}" width="${Math.max(s.end_time - s.start_time, 0)}" height="${LANE - 6}" fill="${color(s.speaker)}" fill-opacity="0.8"/>`);
    }
    const oy = speakers.length * LANE;
    for (const [a, b] of D.overlaps) {
      p.push(`<rect x="${a}" y="0" width="${b - a}" height="${oy}" fill="#000" fill-opacity="0.12"/>`);
      p.push(`<rect x="${a}" y="${oy + 3}" width="${b - a}" height="${LANE - 6}" fill="#555"/>`);
    }
    const row = { i: 1, d: 2, s: 3, x: 4 };
    for (const e of errs) {
      const y = (speakers.length + row[e[0]]) * LANE;
      const x = (e[1] + e[2]) / 2;
      p.push(`<line x1="${x}" x2="${x}" y1="${y + 3}" y2="${y + LANE - 3}" stroke="${ERR_COLORS[e[0]]}" stroke-width="2" vector-effect="non-scaling-stroke"/>`);
    }
    p.push("</svg>");
    $("tl-lanes").innerHTML = p.join("");
    $("tl-labels").innerHTML = lanes.map((l) => `<div class="lane-label"${l.spk ? ` data-spk="${spkIndex.get(l.spk)}" style="color:${color(l.spk)}"` : ""}>${esc(l.label)}</div>`).join("");
    for (const el of $("tl-labels").querySelectorAll("[data-spk]")) nameEls.get(speakers[+el.dataset.spk]).push(el);
  }

  // ---- errors against a reference: summary and marks on the hypothesis words
  if (D.errors) {
    const c = D.errors.counts;
    $("errors-box").hidden = false;
    $("errors-summary").textContent = `${c.i} insertions, ${c.d} deletions, ${c.s} substitutions, ` +
      `${c.x} speaker errors (${D.errors.alignment} alignment, ${D.errors.ref_words} reference words)`;
    const bySpk = new Map();
    for (let i = 0; i < nWords; i++) { if (!bySpk.has(wSpk[i])) bySpk.set(wSpk[i], []); bySpk.get(wSpk[i]).push(i); }
    for (const e of errs) {
      if (e[0] === "d" || !bySpk.has(e[3])) continue;
      const list = bySpk.get(e[3]), t = (e[1] + e[2]) / 2;
      let best = -1, bd = 1.0;
      for (const i of list) { const d = t < wStart[i] ? wStart[i] - t : t > wEnd[i] ? t - wEnd[i] : 0; if (d < bd) { bd = d; best = i; } }
      if (best >= 0) {
        const el = wordEls[best];
        el.classList.add("err-" + e[0]);
        el.title = e[0] === "s" ? `substitution: reference "${e[5]}"` : e[0] === "x" ? `speaker error: reference speaker ${e[5]}` : "insertion";
      }
    }
  }

  // ---- zoom, scroll, cursor
  const scroller = $("tl-scroll"), inner = $("tl-inner"), cursor = $("tl-cursor");
  let zoom = 1;
  const TICKS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  function drawAxis() {
    const px = scroller.clientWidth * zoom / dur;
    const step = TICKS.find((s) => s * px >= 70) || 7200;
    const p = [];
    for (let t = 0; t <= dur; t += step) p.push(`<span style="left:${100 * t / dur}%">${clock(t)}</span>`);
    $("tl-axis").innerHTML = p.join("");
    $("zoom-label").textContent = zoom === 1 ? "whole meeting" : `${clock(scroller.clientWidth / px)} visible`;
  }
  function setZoom(z, anchorT, anchorX) {
    z = Math.min(Math.max(z, 1), Math.max(1, dur / 5));
    zoom = z;
    inner.style.width = (100 * z) + "%";
    const w = scroller.clientWidth * z;
    scroller.scrollLeft = anchorT / dur * w - anchorX;
    drawAxis();
  }
  const now = () => audio.currentTime || virtualT;
  $("zoom-in").onclick = () => setZoom(zoom * 2, now(), scroller.clientWidth / 2);
  $("zoom-out").onclick = () => setZoom(zoom / 2, now(), scroller.clientWidth / 2);
  $("zoom-fit").onclick = () => setZoom(1, 0, 0);
  scroller.addEventListener("wheel", (e) => {
    if (!(e.ctrlKey || e.metaKey)) return;
    e.preventDefault();
    const r = inner.getBoundingClientRect(), x = e.clientX - scroller.getBoundingClientRect().left;
    setZoom(zoom * (e.deltaY < 0 ? 1.25 : 0.8), (e.clientX - r.left) / r.width * dur, x);
  }, { passive: false });
  scroller.addEventListener("click", (e) => {
    const r = inner.getBoundingClientRect();
    seek((e.clientX - r.left) / r.width * dur);
  });
  window.addEventListener("resize", drawAxis);

  // ---- playback: seek, cursor, current word
  let virtualT = 0;
  let current = [];
  function highlight(t) {
    let lo = 0, hi = nWords;
    while (lo < hi) { const m = (lo + hi) >> 1; if (sortedStart[m] <= t) lo = m + 1; else hi = m; }
    const cur = [];
    for (let k = lo - 1; k >= 0 && k >= lo - 40; k--) { const i = byStart[k]; if (wEnd[i] > t) cur.push(i); }
    if (cur.length === current.length && cur.every((i, k) => i === current[k])) return;
    for (const i of current) wordEls[i].classList.remove("cur");
    for (const i of cur) wordEls[i].classList.add("cur");
    current = cur;
    if (cur.length && $("follow").checked && !audio.paused) {
      const r = wordEls[cur[0]].getBoundingClientRect();
      if (r.top < 90 || r.bottom > window.innerHeight) wordEls[cur[0]].scrollIntoView({ block: "center" });
    }
  }
  function show(t) {
    cursor.style.left = (100 * t / dur) + "%";
    if ($("follow").checked && !audio.paused && zoom > 1) {
      const x = t / dur * inner.clientWidth - scroller.scrollLeft;
      if (x < 0 || x > scroller.clientWidth - 20) scroller.scrollLeft = t / dur * inner.clientWidth - 40;
    }
    highlight(t);
  }
  function seek(t) {
    t = Math.min(Math.max(t, 0), dur);
    virtualT = t;
    if (audio.currentSrc) audio.currentTime = t;
    show(t);
  }
  let raf = 0;
  const loop = () => { show(audio.currentTime); raf = requestAnimationFrame(loop); };
  audio.addEventListener("play", () => { cancelAnimationFrame(raf); raf = requestAnimationFrame(loop); });
  audio.addEventListener("pause", () => { cancelAnimationFrame(raf); show(audio.currentTime); });
  audio.addEventListener("seeked", () => show(audio.currentTime));
  $("transcript").addEventListener("click", (e) => {
    const w = e.target.closest(".w");
    if (w) { seek(wStart[+w.dataset.i]); return; }
    const t = e.target.closest(".t");
    if (t) seek(+t.dataset.t);
  });

  // ---- rename
  $("stats").addEventListener("input", (e) => {
    const el = e.target.closest("input[data-spk]");
    if (!el) return;
    const s = speakers[+el.dataset.spk];
    names.set(s, el.value.trim() || s);
    for (const n of nameEls.get(s)) n.textContent = names.get(s);
  });

  // ---- downloads: the same text notsofar's writers produce (notsofar.io), with the names
  const pyRound = (v) => { const f = Math.floor(v), d = v - f; return d > 0.5 ? f + 1 : d < 0.5 ? f : (f % 2 === 0 ? f : f + 1); };
  const srtTime = (t, sep) => {
    let ms = pyRound(t * 1000);
    const h = Math.floor(ms / 3600000); ms -= h * 3600000;
    const m = Math.floor(ms / 60000); ms -= m * 60000;
    const s = Math.floor(ms / 1000); ms -= s * 1000;
    return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}${sep}${String(ms).padStart(3, "0")}`;
  };
  const txtTime = (t) => {
    let ms = pyRound(t * 1000);
    const h = Math.floor(ms / 3600000); ms -= h * 3600000;
    const m = Math.floor(ms / 60000); ms -= m * 60000;
    return `${h}:${String(m).padStart(2, "0")}:${(ms / 1000).toFixed(3).padStart(6, "0")}`;
  };
  const cue = (s) => tokens(s).join(" ");
  const name = (s) => names.get(s.speaker) ?? s.speaker;
  // consecutive segments of one speaker merged (notsofar.io._text.merge_turns)
  function merged(maxGap, maxDur) {
    const out = [];
    for (const s of segs) {
      const p = out[out.length - 1];
      if (p && p.session_id === s.session_id && p.speaker === s.speaker && s.start_time - p.end_time <= maxGap
          && (maxDur == null || s.end_time - p.start_time <= maxDur)) {
        out[out.length - 1] = { ...p, end_time: Math.max(p.end_time, s.end_time), words: p.words + " " + s.words };
      } else out.push(s);
    }
    return out;
  }
  function exportText(fmt) {
    if (fmt === "seglst") return JSON.stringify(D.segments.map((s) => ({ ...s, speaker: name(s) })), null, 2) + "\n";
    const M = D.merge;
    if (fmt === "srt") return merged(M.cue_gap, M.cue_max).map((s, i) => `${i + 1}\n${srtTime(s.start_time, ",")} --> ${srtTime(s.end_time, ",")}\n[${name(s)}] ${cue(s.words)}\n`).join("\n");
    if (fmt === "vtt") return ["WEBVTT\n"].concat(merged(M.cue_gap, M.cue_max).map((s) => `${srtTime(s.start_time, ".")} --> ${srtTime(s.end_time, ".")}\n<v ${name(s)}>${cue(s.words)}\n`)).join("\n");
    if (fmt === "txt") return merged(M.txt_gap, null).map((s) => `[${txtTime(s.start_time)} - ${txtTime(s.end_time)}] ${name(s)}: ${cue(s.words)}\n`).join("");
    throw new Error("unknown format " + fmt);
  }
  const SUFFIX = { seglst: ".seglst.json", srt: ".srt", vtt: ".vtt", txt: ".txt" };
  $("downloads").addEventListener("click", (e) => {
    const b = e.target.closest("button[data-fmt]");
    if (!b) return;
    const fmt = b.dataset.fmt;
    const url = URL.createObjectURL(new Blob([exportText(fmt)], { type: fmt === "seglst" ? "application/json" : "text/plain" }));
    const a = document.createElement("a");
    a.href = url; a.download = (D.session_id || "meeting").replace(/[\\/:]+/g, "_") + SUFFIX[fmt];
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  });

  // ---- search (case-insensitive; several words match consecutive words)
  const norm = (w) => w.toLowerCase().replace(/[^\p{L}\p{N}']+/gu, "");
  let wNorm = null, hits = [], hitPos = -1, timer = 0;
  function search(q) {
    for (const i of hits) wordEls[i].classList.remove("hit", "focus");
    hits = []; hitPos = -1;
    const qs = tokens(q.toLowerCase()).map(norm).filter(Boolean);
    if (qs.length) {
      wNorm = wNorm || wText.map(norm);
      for (let i = 0; i + qs.length <= nWords; i++) {
        let ok = true;
        for (let j = 0; j < qs.length && ok; j++) {
          const w = wNorm[i + j], x = qs[j];
          ok = qs.length === 1 ? w.includes(x) : j === 0 ? w.endsWith(x) : j === qs.length - 1 ? w.startsWith(x) : w === x;
        }
        if (ok) for (let j = 0; j < qs.length; j++) hits.push(i + j);
      }
    }
    for (const i of hits) wordEls[i].classList.add("hit");
    $("search-count").textContent = qs.length ? `${hits.length} word${hits.length === 1 ? "" : "s"}` : "";
  }
  function step(d) {
    if (!hits.length) return;
    if (hitPos >= 0) wordEls[hits[hitPos]].classList.remove("focus");
    hitPos = (hitPos + d + hits.length) % hits.length;
    const el = wordEls[hits[hitPos]];
    el.classList.add("focus");
    el.scrollIntoView({ block: "center" });
  }
  $("search").addEventListener("input", (e) => { clearTimeout(timer); timer = setTimeout(() => search(e.target.value), 120); });
  $("search").addEventListener("keydown", (e) => { if (e.key === "Enter") { clearTimeout(timer); if (!hits.length) search(e.target.value); step(e.shiftKey ? -1 : 1); } });
  $("search-next").onclick = () => step(1);
  $("search-prev").onclick = () => step(-1);

  // ---- audio: decode the embedded block (see notsofar/report/audio.py) after the first paint
  const api = { exportText, seek, names, readyMs: 0, audioMs: 0, words: nWords };
  window.notsofarReport = api;
  function decodeAudio(block) {
    const text = block.textContent, len = +block.dataset.length, chunk = +block.dataset.chunk;
    const V = new Int32Array(0x800), L = new Uint8Array(0x800);
    const ascii = "\t\n" + Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("").replace("<", "");
    for (let i = 0; i < ascii.length; i++) { V[ascii.charCodeAt(i)] = i; L[ascii.charCodeAt(i)] = 7; }
    for (let j = 0; j < 32; j++) for (let k = 0; k < 59; k++) {
      const c = 0xA0 + j * 59 + k;
      if (k < 5) { V[c] = ((96 + j) << 5) | k; L[c] = 12; } else { V[c] = ((96 + j) << 6) | (k + 5); L[c] = 13; }
    }
    const out = new Uint8Array(len);
    let acc = 0, nb = 0, o = 0, end = Math.min(chunk, len);
    for (let i = 0, n = text.length; i < n; i++) {
      const c = text.charCodeAt(i), l = L[c];
      if (!l) continue;
      acc = (acc << l) | V[c]; nb += l;
      while (nb >= 8) {
        nb -= 8; out[o++] = (acc >>> nb) & 255;
        if (o === end) { nb = 0; end = Math.min(end + chunk, len); break; }
      }
      acc &= (1 << nb) - 1;
    }
    if (o !== len) throw new Error(`embedded audio: decoded ${o} of ${len} bytes`);
    return new Blob([out], { type: block.dataset.mime });
  }
  audio.addEventListener("loadedmetadata", () => { api.audioMs = performance.now(); $("audio-status").textContent = ""; });
  audio.addEventListener("error", () => { $("audio-status").textContent = "audio not available" + (audio.getAttribute("src") ? ": " + audio.getAttribute("src") : ""); });
  function startAudio() {
    const block = $("audio-data");
    if (!block) {
      if (!audio.getAttribute("src")) $("player").hidden = true;
      // no audio, or a link whose metadata may have loaded before this script ran
      if (!audio.getAttribute("src") || audio.readyState >= 1) api.audioMs = performance.now();
      return;
    }
    $("audio-status").textContent = "loading audio…";
    setTimeout(() => {
      const t = performance.now();
      audio.src = URL.createObjectURL(decodeAudio(block));
      api.decodeMs = performance.now() - t;
      block.remove();
    }, 0);
  }
  setZoom(1, 0, 0);
  show(0);
  api.readyMs = performance.now();
  api.scriptMs = api.readyMs - t0;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", startAudio);
  else startAudio();
})();
