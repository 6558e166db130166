// ProPilot driver display: renders the view pushed over the websocket, sends the driver's inputs.
// Sounds are synthesised with WebAudio (no audio files); each played sound is logged in
// window.propilotSoundLog and in #sound-log.
"use strict";

const token = new URLSearchParams(location.search).get("token");
const wsUrl = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws" +
  (token ? "?token=" + encodeURIComponent(token) : "");
let socket = null;
let view = null;

const KEYS = {  // keyboard -> driver event
  m: "MAIN_SWITCH", Enter: "APPROVE", x: "REJECT", Backspace: "REJECT", c: "CANCEL",
  ArrowUp: "SET_SPEED_UP", ArrowDown: "SET_SPEED_DOWN", g: "TIME_GAP",
  ArrowLeft: "TURN_SIGNAL_LEFT", ArrowRight: "TURN_SIGNAL_RIGHT",
};
const STATE_TEXT = {
  OFF: "Off", UNAVAILABLE: "Route drive unavailable", AVAILABLE: "Route drive available",
  ENGAGED_HANDS_ON: "Route drive: hands on", ENGAGED_HANDS_OFF: "Route drive: hands off",
  TAKEOVER_REQUEST: "TAKE OVER", MINIMAL_RISK: "Stopping in lane",
};
const PROPOSAL_TEXT = {
  OVERTAKE: "Overtake", RETURN: "Return to travel lane", BRANCH: "Lane change for the junction",
  EXIT: "Lane change for the exit", DRIVER_REQUESTED: "Lane change",
};
const WARNING_TEXT = ["", "Eyes on the road", "EYES ON THE ROAD", "TAKE CONTROL NOW"];

// --- sounds: [frequency Hz, duration s, waveform] steps, per HMI sound name ---
const SOUNDS = {
  available: [[660, .12, "sine"], [880, .18, "sine"]],
  engage: [[523, .1, "sine"], [659, .1, "sine"], [784, .2, "sine"]],
  disengage: [[784, .12, "sine"], [523, .25, "sine"]],
  proposal: [[880, .12, "triangle"], [0, .05], [880, .12, "triangle"], [1175, .25, "triangle"]],
  notice: [[740, .3, "sine"]],
  refused: [[330, .15, "square"], [0, .05], [330, .15, "square"]],
  warning: [[1000, .15, "square"], [0, .1], [1000, .15, "square"], [0, .1], [1000, .15, "square"]],
  takeover: [[1400, .1, "sawtooth"], [0, .05], [1400, .1, "sawtooth"], [0, .05], [1400, .1, "sawtooth"],
             [0, .05], [1400, .1, "sawtooth"]],
  alarm: [[1800, .4, "square"], [1200, .4, "square"], [1800, .4, "square"]],
};
window.propilotSoundLog = [];
let audio = null;

function play(name) {
  const steps = SOUNDS[name] || [[600, .2, "sine"]];
  window.propilotSoundLog.push({ name: name, t_s: view ? view.t_s : 0 });
  const item = document.createElement("li");
  item.textContent = name;
  document.getElementById("sound-log").appendChild(item);
  try {
    audio = audio || new (window.AudioContext || window.webkitAudioContext)();
    if (audio.state === "suspended") audio.resume();
    let t = audio.currentTime + 0.02;
    for (const [freq, duration, wave] of steps) {
      if (freq > 0) {
        const osc = audio.createOscillator();
        const gain = audio.createGain();
        osc.type = wave;
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, t);
        gain.gain.exponentialRampToValueAtTime(0.25, t + 0.01);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + duration);
        osc.connect(gain).connect(audio.destination);
        osc.start(t);
        osc.stop(t + duration + 0.02);
      }
      t += duration;
    }
  } catch (err) {
    console.warn("sound not played:", name, err);
  }
}

// --- inputs ---
function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}
function sendEvent(event, source, uuid) {
  send({ type: "input", event: event, proposal_uuid: uuid || "", source: source });
}
function openProposal() {
  return view ? view.proposals.find((p) => p.state === "PROPOSED") : undefined;
}

document.getElementById("approve").addEventListener("click", () => {
  const p = openProposal();
  sendEvent("APPROVE", "display", p ? p.uuid : "");
});
document.getElementById("cancel").addEventListener("click", () => {
  const p = openProposal();
  sendEvent("REJECT", "display", p ? p.uuid : "");
});
for (const button of document.querySelectorAll("button[data-event]")) {
  button.addEventListener("click", () => sendEvent(button.dataset.event, "display"));
}
document.getElementById("screen-continue").addEventListener("click", () => send({ type: "continue" }));

let handsHeld = false;
document.addEventListener("keydown", (e) => {
  if (e.repeat) return;
  if (e.key === "h" || e.key === "H") {
    if (!handsHeld) { handsHeld = true; send({ type: "hands_on", value: true }); }
    return;
  }
  if (e.key === " " && view && view.screen) { send({ type: "continue" }); e.preventDefault(); return; }
  const event = KEYS[e.key] || KEYS[e.key.toLowerCase()];
  if (!event) return;
  const p = openProposal();
  sendEvent(event, "keyboard", (event === "APPROVE" || event === "REJECT") && p ? p.uuid : "");
  e.preventDefault();
});
document.addEventListener("keyup", (e) => {
  if ((e.key === "h" || e.key === "H") && handsHeld) { handsHeld = false; send({ type: "hands_on", value: false }); }
});

// --- rendering ---
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const LANE_W = 62, EGO_Y = 330, PX_PER_M = 2.0;

function svg(tag, attrs, parent) {
  const el = document.createElementNS(SVG, tag);
  for (const k in attrs) el.setAttribute(k, attrs[k]);
  parent.appendChild(el);
  return el;
}

function drawLanes(v) {
  const root = $("lanes");
  root.replaceChildren();
  const count = v.lane ? v.lane.count : 3;
  const egoIndex = v.lane ? v.lane.index : 1;
  const left = 150 - (count * LANE_W) / 2;
  svg("rect", { x: left - 6, y: 0, width: count * LANE_W + 12, height: 420, fill: "#21262d" }, root);
  for (let i = 0; i <= count; i++) {
    const x = left + i * LANE_W;
    const edge = i === 0 || i === count;
    svg("line", { x1: x, y1: 0, x2: x, y2: 420, stroke: edge ? "#c9d1d9" : "#8b949e", "stroke-width": edge ? 3 : 2,
                  "stroke-dasharray": edge ? "" : "18 14" }, root);
  }
  const laneX = (index) => left + (index + 0.5) * LANE_W;
  const egoX = laneX(egoIndex);
  const open = v.proposals.find((p) => p.state === "PROPOSED" || p.state === "EXECUTING");
  if (open && open.direction) {  // where the proposed lane change goes
    const tx = laneX(egoIndex - open.direction);
    svg("path", { d: `M ${egoX} ${EGO_Y - 30} C ${egoX} ${EGO_Y - 90}, ${tx} ${EGO_Y - 90}, ${tx} ${EGO_Y - 150}`,
                  stroke: open.state === "EXECUTING" ? "#3fb950" : "#2f81f7", "stroke-width": 8, fill: "none",
                  "stroke-linecap": "round", opacity: 0.85 }, root);
    svg("polygon", { points: `${tx - 12},${EGO_Y - 146} ${tx + 12},${EGO_Y - 146} ${tx},${EGO_Y - 168}`,
                     fill: open.state === "EXECUTING" ? "#3fb950" : "#2f81f7" }, root);
  }
  if (v.engaged) {  // the lane the pilot is keeping
    svg("rect", { x: egoX - LANE_W / 2 + 6, y: 0, width: LANE_W - 12, height: EGO_Y, fill: v.hands_off ? "#2f81f7" : "#3fb950",
                  opacity: 0.12 }, root);
  }
  for (const o of v.vehicles) {
    const index = egoIndex - o.lane;
    if (index < 0 || index >= count) continue;
    const length = Math.max((o.length_m || 4.5) * PX_PER_M, 36);  // icons, not to scale: readable at a glance
    const y = EGO_Y - 20 - o.gap_m * PX_PER_M - length;
    const isLead = v.lead && o.id === v.lead.id;
    svg("rect", { x: laneX(index) - 15, y: y, width: 30, height: length, rx: 6,
                  fill: isLead ? "#d29922" : "#8b949e", stroke: "#0d1117", "stroke-width": 2 }, root);
  }
  svg("rect", { x: egoX - 16, y: EGO_Y - 20, width: 32, height: 46, rx: 8, fill: "#2f81f7", stroke: "white",
                "stroke-width": 2 }, root);
  if (v.next_event && v.next_event.distance_m * PX_PER_M < EGO_Y) {
    const y = EGO_Y - 20 - v.next_event.distance_m * PX_PER_M;
    const x = v.next_event.lane_change >= 0 ? left - 4 : left + count * LANE_W + 4;
    svg("line", { x1: left, y1: y, x2: left + count * LANE_W, y2: y, stroke: "#d29922", "stroke-width": 2,
                  "stroke-dasharray": "4 4" }, root);
    svg("text", { x: x, y: y - 4, fill: "#d29922", "font-size": 12, "text-anchor": "middle" }, root).textContent =
      v.next_event.kind;
  }
}

function render(v) {
  view = v;
  const pilot = $("pilot");
  pilot.dataset.state = v.state;
  $("pilot-text").textContent = STATE_TEXT[v.state] || v.state;
  $("pilot-icon").innerHTML = v.engaged ? "&#9679;" : v.available ? "&#9678;" : "&#9675;";
  const hands = $("hands");
  hands.textContent = v.engaged ? (v.hands_off ? "Hands off" : "Hands on") : (v.hands_on_wheel ? "Hands on wheel" : "Hands off wheel");
  hands.className = "pill " + (v.engaged ? (v.hands_off ? "off" : "on") : "");
  $("set-speed").textContent = v.set_speed_kph;
  $("time-gap").textContent = v.time_gap_s.toFixed(1) + " s";
  const bars = v.time_gap_s >= 1.7 ? 3 : v.time_gap_s >= 1.4 ? 2 : 1;
  $("gap-bars").innerHTML = "<i></i>".repeat(bars);
  $("lead").textContent = v.lead ? `${Math.round(v.lead.gap_m)} m` +
    (v.lead.relative_speed_kph != null ? ` (${v.lead.relative_speed_kph > 0 ? "+" : ""}${v.lead.relative_speed_kph} km/h)` : "") : "none";
  const next = $("next-event");
  if (v.next_event) {
    const arrow = v.next_event.lane_change > 0 ? "\u2196" : v.next_event.lane_change < 0 ? "\u2197" : "\u2191";
    next.textContent = `${arrow} ${v.next_event.kind === "exit" ? "Exit" : "Branch"}` +
      `${v.next_event.name ? " " + v.next_event.name : ""} in ${v.next_event.distance_m} m`;
    next.classList.remove("hidden");
  } else next.classList.add("hidden");
  const warning = $("warning");
  warning.dataset.level = v.warning_level;
  warning.textContent = v.warning_level ? `${WARNING_TEXT[v.warning_level]} (level ${v.warning_level}: ${v.warning})` : "";
  warning.classList.toggle("hidden", v.warning_level === 0);
  const p = v.proposals.find((q) => q.state === "PROPOSED") || v.proposals.find((q) => q.state === "EXECUTING") ||
    v.proposals[0];
  const card = $("proposal");
  if (p) {
    card.dataset.state = p.state;
    card.dataset.uuid = p.uuid;
    const side = p.direction > 0 ? " left" : p.direction < 0 ? " right" : "";
    $("proposal-title").textContent = (PROPOSAL_TEXT[p.kind] || p.kind) + side + (p.state === "PROPOSED" ? "?" : "");
    $("proposal-reason").textContent = p.reason;
    $("proposal-state").textContent = p.state;
    const showCountdown = v.countdown && p.state === "PROPOSED" && p.time_left_s != null;
    $("countdown").classList.toggle("hidden", !showCountdown);
    if (showCountdown) {
      $("countdown-bar").style.width = `${Math.min(100, (100 * p.time_left_s) / Math.max(p.timeout_s, 0.1))}%`;
      $("countdown-text").textContent = `${p.time_left_s.toFixed(1)} s`;
    }
    card.querySelector(".buttons").classList.toggle("hidden", p.state !== "PROPOSED");
    card.classList.remove("hidden");
  } else card.classList.add("hidden");
  if (v.message) $("message").textContent = v.message;
  const parking = $("parking");
  if (v.parking) {
    $("parking-state").textContent = v.parking.state;
    $("parking-detail").textContent = [v.parking.reason,
      v.parking.remaining_m != null ? `${v.parking.remaining_m} m to go` : "",
      v.parking.min_clearance_m != null ? `clearance ${v.parking.min_clearance_m} m` : "",
      v.parking.fob_rejections.length ? `fob refused: ${v.parking.fob_rejections.join(", ")}` : ""]
      .filter(Boolean).join(" \u00b7 ");
    parking.classList.remove("hidden");
  } else parking.classList.add("hidden");
  const screen = $("screen");
  if (v.screen) {
    $("screen-title").textContent = v.screen.title;
    $("screen-text").textContent = v.screen.text;
    $("screen-continue").classList.toggle("hidden", !v.screen.wait);
    screen.classList.remove("hidden");
  } else screen.classList.add("hidden");
  $("clock").textContent = v.t_s.toFixed(1);
  drawLanes(v);
  for (const name of v.sounds || []) play(name);
}

function connect() {
  socket = new WebSocket(wsUrl);
  socket.onopen = () => { $("conn").textContent = "live"; };
  socket.onclose = () => { $("conn").textContent = "offline"; setTimeout(connect, 1000); };
  socket.onmessage = (e) => {
    try { render(JSON.parse(e.data)); } catch (err) { console.error("bad view", err); }
  };
}
connect();
