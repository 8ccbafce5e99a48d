/**
 * Light and dark themes: the system's choice by default, or the one the user picked
 * (a display preference, the only thing this app keeps in localStorage).
 */
export type Theme = "light" | "dark";

export function currentTheme(): Theme {
  const chosen = localStorage.getItem("theme");
  if (chosen === "light" || chosen === "dark") return chosen;
  return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function setTheme(theme: Theme): void {
  localStorage.setItem("theme", theme);
  document.documentElement.dataset.theme = theme;
}

export function initTheme(): void {
  document.documentElement.dataset.theme = currentTheme();
}
