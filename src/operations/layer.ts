/**
 * The services every shell runs operations with; moved to the engine's composition root (`engine/live.ts`).
 * Kept as a re-export until the shells import `engine/live.js` themselves.
 */
export { BlueLive } from "../engine/live.js"
