/**
 * `blue daemon install --print` with a BLUE_HOME and a script path full of systemd specials: `$` survives as `$` in
 * Environment= (where systemd does not expand variables) and as `$$` in ExecStart= (where it does), `%` is always
 * `%%`, and paths with spaces are quoted. When systemd-analyze is installed, it must accept the unit.
 */
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { BLUE_BIN } from "./support/workspace.js"

const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "blue-unit-")))
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const has = (bin: string) => spawnSync("sh", ["-c", `command -v ${bin}`]).status === 0

describe.runIf(process.platform === "linux")("blue daemon install --print: systemd escaping", () => {
  it("keeps $, % and spaces in BLUE_HOME and in the script path", () => {
    const home = path.join(root, "home $x %h dir")
    // The script path also has specials: copy the binary's directory layout by linking to it.
    const binDir = path.join(root, "app $y %i")
    fs.mkdirSync(binDir, { recursive: true })
    const bin = path.join(binDir, "blue.js")
    fs.writeFileSync(bin, `import(${JSON.stringify(BLUE_BIN)})\n`)
    const run = spawnSync(process.execPath, [bin, "daemon", "install", "--print"], {
      encoding: "utf8",
      env: { PATH: process.env["PATH"], HOME: root, BLUE_HOME: home, BLUE_DAEMON: "off", XDG_CONFIG_HOME: "" }
    })
    expect(run.stderr).toContain("(not written)")
    expect(run.status).toBe(0)
    const unit = run.stdout
    const dollarsAndPercents = (s: string) => s.replace(/%/g, "%%").replace(/\$/g, "$$$$")
    expect(unit).toContain(`Environment="BLUE_HOME=${home.replace(/%/g, "%%")}"\n`)
    expect(unit).toContain(`Environment="BLUE_HOME=${root}/home $x %%h dir"\n`)
    expect(unit).toContain(
      `ExecStart=${dollarsAndPercents(process.execPath)} "${dollarsAndPercents(bin)}" daemon run\n`
    )
    expect(unit).toContain(`/app $$y %%i/blue.js" daemon run\n`)
    expect(fs.existsSync(path.join(root, ".config", "systemd"))).toBe(false)

    if (!has("systemd-analyze")) {
      console.warn("systemd-analyze is not installed: skipping the unit's verification")
      return
    }
    const file = path.join(root, "blue-daemon.service")
    fs.writeFileSync(file, unit)
    const verify = spawnSync("systemd-analyze", ["verify", "--man=no", file], { encoding: "utf8", timeout: 20_000 })
    expect(verify.stderr).toBe("")
    expect(verify.status).toBe(0)
  })
})
