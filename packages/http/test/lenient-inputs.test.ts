import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startApi, type TestApi, writeFiles } from "./helpers/api-server.js";

const BACKUPS = "/api/client/servers/srv-1/backups";
let api: TestApi;
afterEach(() => api.close());

// Laravel's `boolean` rule, which the panel validates is_locked and truncate with, accepts exactly
// true, false, 1, 0, "1" and "0"; the panel's fields are nullable, so null (or nothing) is false.
const ACCEPTED: [unknown, boolean][] = [
  [true, true],
  [1, true],
  ["1", true],
  [false, false],
  [0, false],
  ["0", false],
  [null, false],
  [undefined, false],
];
const REFUSED: unknown[] = ["yes", "no", "true", "false", "on", "", " 1", 2, -1, 1.5, [], {}, [true]];

describe("booleans as the panel takes them", () => {
  it("creates a backup locked or not for each accepted form of is_locked", async () => {
    api = await startApi({ maxBackups: 20 });
    for (const [value, locked] of ACCEPTED) {
      const uuid = await api.backup("srv-1", value === undefined ? {} : { is_locked: value });
      const record = await api.manager.get("srv-1", uuid);
      expect(record.is_locked, JSON.stringify(value)).toBe(locked);
    }
  });

  it("refuses every other form of is_locked with a 422, creating nothing", async () => {
    api = await startApi({ maxBackups: 20 });
    for (const value of REFUSED) {
      const answer = await api.call("POST", BACKUPS, { body: { is_locked: value } });
      expect(answer.status, JSON.stringify(value)).toBe(422);
      expect(answer.json.errors[0]).toMatchObject({
        code: "ValidationException",
        detail: 'The is locked field must be true or false (or 1, 0, "1", "0").',
      });
    }
    expect((await api.call("GET", BACKUPS)).json.meta.backup_count).toBe(0);
  });

  it("restores truncating or merging for each accepted form of truncate, and refuses the others", async () => {
    api = await startApi();
    const root = join(api.serversRoot, "srv-1");
    await writeFiles(root, { "a.txt": "a" });
    const uuid = await api.backup();
    const restore = (truncate: unknown) =>
      api.call("POST", `${BACKUPS}/${uuid}/restore`, {
        body: truncate === undefined ? {} : { truncate },
      });
    let restores = 0;
    for (const [value, truncates] of ACCEPTED) {
      await writeFile(join(root, "stray.txt"), "not in the backup");
      const answer = await restore(value);
      expect(answer.status, JSON.stringify(value)).toBe(204);
      await api.event("server:backup.restore-complete", uuid, ++restores);
      const kept = await access(join(root, "stray.txt")).then(
        () => true,
        () => false,
      );
      expect(kept, JSON.stringify(value)).toBe(!truncates);
      await api.manager.wait("srv-1", uuid);
    }
    for (const value of REFUSED) {
      const answer = await restore(value);
      expect(answer.status, JSON.stringify(value)).toBe(422);
      expect(answer.json.errors[0].detail).toMatch(/^The truncate field must be true or false/);
    }
    const started = api.events.filter((event) => event.event === "server:backup.restore");
    expect(started.map((event) => event.properties.truncate)).toEqual(ACCEPTED.map(([, t]) => t));
  });
});

describe("pages as Laravel's paginator reads them", () => {
  it("takes anything that is not a whole number of at least 1 as page 1", async () => {
    api = await startApi({ maxBackups: 5 });
    const first = await api.backup();
    await api.backup();
    const pageOf = async (page: string) => {
      const answer = await api.call("GET", `${BACKUPS}?per_page=1&page=${page}`);
      expect(answer.status, page).toBe(200);
      return answer.json;
    };
    for (const page of ["0", "-1", "-20", "abc", "", "1.5", "01", "1e1", "%20"]) {
      const answer = await pageOf(page);
      expect(answer.meta.pagination.current_page, page).toBe(1);
      expect(answer.data).toHaveLength(1);
    }
    for (const page of ["2", "%202", "%2B2"]) {
      const answer = await pageOf(page);
      expect(answer.meta.pagination.current_page, page).toBe(2);
      expect(answer.data[0].attributes.uuid).toBe(first);
    }
    expect((await pageOf("3")).data).toEqual([]);
  });
});
