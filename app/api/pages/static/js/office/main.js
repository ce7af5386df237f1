// The office: sign-in, the role's tabs, and each tab's module.
import { roleOf } from "../api.js";
import { $, show } from "../dom.js";
import { openAttendance, setUpAttendance } from "./attendance.js";
import { openCourses, setUpCourses } from "./courses.js";
import { openGrid, setUpGrid } from "./grid.js";
import { openHealth, setUpHealth } from "./health.js";
import { openKeys, setUpKeys } from "./keys.js";
import { setUpSessionEdit } from "./session-edit.js";
import { loadSessions, openSessions, setUpSessions } from "./sessions.js";
import { office, officeKey } from "./state.js";
import { openStudentPage, setUpStudentPage } from "./student.js";
import { openStudents, setUpStudents } from "./students.js";
import { openTimetable, setUpTimetable } from "./timetable.js";
import { closeToday, openToday, setUpToday } from "./today.js";

const TABS = {
  today: openToday,
  students: openStudents,
  courses: openCourses,
  sessions: openSessions,
  timetable: openTimetable,
  register: openGrid,
  attendance: openAttendance,
  keys: openKeys,
  health: openHealth,
};

function selectTab(name) {
  if (name !== "today") closeToday();
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    const selected = tab.id === `tab-${name}`;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    show($(`#${tab.getAttribute("aria-controls")}`), selected);
  }
  if ($("#panel-student")) show($("#panel-student"), false);
  if (location.hash !== `#${name}`) history.replaceState(null, "", `#${name}`);
  TABS[name]();
}

// #student/ID: the student page, in place of the tabs' panels (a link from any name).
function showStudentPage(id) {
  closeToday();
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.setAttribute("aria-selected", String(tab.id === "tab-students"));
    show($(`#${tab.getAttribute("aria-controls")}`), false);
  }
  show($("#panel-student"));
  openStudentPage(id);
}

// What the address asks for: a tab, a student page, or the role's first tab.
function route(role) {
  const wanted = location.hash.slice(1);
  const student = wanted.match(/^student\/(\d+)$/);
  if (student && $("#panel-student")) return showStudentPage(Number(student[1]));
  selectTab($(`#tab-${wanted}`) ? wanted : "today");
}

// Arrow keys move between tabs (the WAI-ARIA tabs pattern).
function onTabKey(event) {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
  if (!step) return;
  const next = tabs[(tabs.indexOf(event.target) + step + tabs.length) % tabs.length];
  next.focus();
  next.click();
}

async function enter(key) {
  const role = await roleOf(key);
  if (role === "kiosk") throw new Error("A kiosk key cannot open the office: use an admin, teacher or viewer key.");
  office.key = key;
  office.role = role;
  officeKey.set(key);
  // What this role may not do is not shown at all: the controls are taken out of the page.
  if (role !== "admin") document.querySelectorAll("[data-admin-only]").forEach((node) => node.remove());
  if (role === "teacher") document.querySelectorAll("[data-not-teacher]").forEach((node) => node.remove());
  $("#office-role").textContent = role;
  show($("#office-signin"), false);
  show($("#office-who"));
  show($("#office"));
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => selectTab(tab.id.replace("tab-", "")));
    tab.addEventListener("keydown", onTabKey);
  }
  setUpToday();
  setUpStudentPage();
  setUpStudents();
  setUpCourses();
  setUpSessions();
  setUpGrid();
  if (role === "admin") {
    setUpSessionEdit();
    setUpTimetable(loadSessions);
  }
  setUpAttendance();
  setUpKeys();
  if (role !== "teacher") setUpHealth();
  window.addEventListener("hashchange", () => route(role));
  route(role);
}

$("#office-signin-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await enter($("#office-key").value.trim());
    // Signed in: the form is gone, so focus goes to the tab now shown (else it is lost).
    (document.querySelector('[role="tab"][aria-selected="true"]') || $("#office")).focus();
  } catch (error) {
    $("#office-signin-error").textContent = error.message;
  }
});

$("#office-signout").addEventListener("click", () => {
  officeKey.clear();
  location.reload(); // a clean page: the removed controls come back for the next key
});

const remembered = officeKey.get();
if (remembered) {
  enter(remembered).catch((error) => {
    officeKey.clear();
    show($("#office-signin"));
    $("#office-signin-error").textContent = error.message;
  });
} else {
  show($("#office-signin"));
}
