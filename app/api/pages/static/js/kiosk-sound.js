// An optional sound for each answer, made in the page with WebAudio (no sound file): two rising
// notes for present, one middle note for late or already checked in, a low one for "see staff".
// Off until a person turns it on: browsers start audio only after a tap, and a school may not
// want it.

const NOTES = {
  good: [660, 880],
  late: [520],
  info: [520],
  bad: [220],
  warn: [330],
};

let audio = null;

export function soundOn() {
  return localStorage.getItem("rollcall.kiosk.sound") === "on";
}

export function setSound(on) {
  localStorage.setItem("rollcall.kiosk.sound", on ? "on" : "off");
  if (on && !audio) audio = new AudioContext(); // made in the tap that turned it on
}

export function beep(tone) {
  const notes = NOTES[tone];
  if (!soundOn() || !notes) return;
  if (!audio) audio = new AudioContext();
  let at = audio.currentTime;
  for (const frequency of notes) {
    const oscillator = audio.createOscillator();
    const gain = audio.createGain();
    oscillator.frequency.value = frequency;
    gain.gain.setValueAtTime(0.25, at);
    gain.gain.exponentialRampToValueAtTime(0.001, at + 0.18);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(at);
    oscillator.stop(at + 0.2);
    at += 0.16;
  }
}
