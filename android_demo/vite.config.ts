import { defaultClientConditions, defineConfig } from "vite";

// Cross-origin isolation (COOP + COEP) lets onnxruntime-web use wasm threads; without it, one thread.
const isolation = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };

export default defineConfig({
  base: "./", // relative paths: the same build runs from a web server, a sub-folder, or Capacitor's WebView
  build: { target: "es2022", outDir: "dist", assetsInlineLimit: 0 },
  server: { headers: isolation },
  preview: { headers: isolation },
  optimizeDeps: { exclude: ["onnxruntime-web"] },
  // onnxruntime-web's build without the embedded wasm: the binary and glue are served from ./ort/
  resolve: { conditions: ["onnxruntime-web-use-extern-wasm", ...defaultClientConditions] },
});
