/** The compatibility engine's public surface; the engine itself is split by concern in ./compatibility/. */
export * from "./compatibility/index.js"
