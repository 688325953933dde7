import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // Examples import the package by name, as users do.
    alias: {
      "vmspace/node": fileURLToPath(new URL("./src/node/index.ts", import.meta.url)),
      vmspace: fileURLToPath(new URL("./src/index.ts", import.meta.url)),
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 600_000,
    hookTimeout: 60_000,
  },
});
