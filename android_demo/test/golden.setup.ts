// Makes the golden vectors with the Python SDK when GOLDEN_DIR is not given (the pytest wrapper gives it).
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export default function setup() {
  if (process.env.GOLDEN_DIR) return;
  const repo = resolve(__dirname, "..", "..");
  const venv = join(repo, ".venv", "bin", "python");
  const python = process.env.POCKETOCR_PYTHON ?? (existsSync(venv) ? venv : "python3");
  const out = mkdtempSync(join(tmpdir(), "pocketocr-golden-"));
  const args = [join(repo, "android_demo", "scripts", "golden.py"), out];
  if (process.env.GOLDEN_MODELS) args.push("--models", process.env.GOLDEN_MODELS);
  execFileSync(python, args, { stdio: "inherit" });
  process.env.GOLDEN_DIR = out;
}
