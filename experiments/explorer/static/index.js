// The gate explorer's page: filled in by the next commit.
export function render() {
  document.body.textContent = "Gate explorer";
}
