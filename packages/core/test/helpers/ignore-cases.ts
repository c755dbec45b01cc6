/**
 * Seeded, pseudo-random ignore rule files and trees for comparing Strongbox with git. Rules are built
 * from the tree's own names (so they hit), mutated with every kind of pattern piece: `*`, `**`, `?`,
 * bracket expressions (sets, ranges, reversed ranges, negation, POSIX classes, an unclosed `[`),
 * escapes, negation, anchoring, trailing `/`, trailing spaces, comments, blank lines, CRLF and a
 * byte-order mark. Names hold spaces, brackets, glob characters, wide characters and bytes that are
 * not UTF-8 (as `decodePath` strings).
 *
 * Left out on purpose, the differences from git that Strongbox accepts (each has its own test): `?` and
 * bracket expressions next to a name with a multi-byte character (they match a character, git a byte),
 * `***`, a rule ending in a backslash, an escaped `/`.
 */

/** One generated case: what to write, then compare. */
export interface IgnoreCase {
  seed: number;
  /** The rule file (`.gitignore`, `.pteroignore`) as a `decodePath` string: `encodePath` gives its bytes. */
  rules: string;
  /** Parents before children. */
  directories: string[];
  files: string[];
  /** Links to a path that does not exist: never followed, never a directory. */
  symlinks: string[];
}

const ASCII_NAMES = [
  "a",
  "b",
  "ab",
  "abc",
  "foo",
  "Foo",
  "FOO",
  "bar",
  "x1",
  "X2",
  "9",
  "42",
  "a.log",
  "b.log",
  "A.LOG",
  "keep.log",
  "c.txt",
  "d.tmp",
  "cache",
  "build",
  "logs",
  "keep",
  "#notes",
  "!imp",
  "a b",
  " lead",
  "trail ",
  "[x]",
  "a[b",
  "x]",
  "back\\slash",
  ".hidden",
  "r.0.0.mca",
  "q?",
  "st*r",
  "tab\tx",
];

/** Names with characters UTF-8 spells in more than one byte. */
const WIDE_NAMES = ["é", "café.txt", "日本", "naïve.log", "Ωmega", "emoji😀"];

/** Names that are not UTF-8 (bytes 0xE9, 0xE8, 0xFF), as `decodePath` gives them. */
const RAW_NAMES = ["caf\udce9.txt", "\udcff", "x\udce9\udce8.log"];

const CLASS_MEMBERS = ["a", "b", "x", "z", "A", "Z", "0", "9", ".", "-", " ", "]", "!", "^", "\\"];
const POSIX_CLASSES = ["digit", "upper", "lower", "alpha", "alnum", "space", "punct", "xdigit"];

/** The case of `seed`: the same seed always gives the same case. */
export function generateCase(seed: number): IgnoreCase {
  const random = seeded(seed);
  // `?` and bracket expressions never meet a wide character (an accepted difference), so a case has
  // one or the other.
  const wide = random.chance(0.4);
  const tree = generateTree(random, wide ? [...ASCII_NAMES, ...WIDE_NAMES] : ASCII_NAMES);
  return { seed, rules: generateRules(random, tree, !wide), ...tree };
}

/** What each kind of pattern piece looks like in a rule file, to check the cases cover them all. */
export const PATTERN_PIECES: Record<string, RegExp> = {
  "a byte-order mark": /^\uFEFF/,
  "CRLF line ends": /\r\n/,
  "a comment": /^#/m,
  "a blank line": /(^|\n) *\r?\n/,
  "trailing spaces": /[^ \\] +\r?$/m,
  "an escaped trailing space": /\\ \r?$/m,
  negation: /^!/m,
  "an escaped ! or #": /^\\[!#]/m,
  "a leading /": /^!?\//m,
  "a middle /": /^!?[^/\r\n]+\/[^\r\n]*[^/\r\n]\r?$/m,
  "a trailing /": /\/ *\r?$/m,
  "*": /(^|[^*\\])\*(?!\*)/m,
  "**": /\*\*/,
  "?": /(^|[^\\])\?/m,
  "[set]": /\[[^:![\]][^\]\r\n]*\]/,
  "[!set]": /\[![^\]\r\n]/,
  "a range": /\[[^\]\r\n]*[a-zA-Z0-9]-[a-zA-Z0-9]/,
  "a reversed range": /\[[^\]\r\n]*z-a/,
  "a POSIX class": /\[\[:[a-z]+:\]\]/,
  "an unclosed [": /\[[^\]\r\n]*\r?$/m,
  "an escaped glob character": /\\[*?[]/,
  "a byte that is not UTF-8": /[\uDC80-\uDCFF]/,
};

interface Tree {
  directories: string[];
  files: string[];
  symlinks: string[];
}

function generateTree(random: Random, names: readonly string[]): Tree {
  const tree: Tree = { directories: [], files: [], symlinks: [] };
  const fill = (prefix: string, depth: number): void => {
    const count = depth === 0 ? random.int(5, 9) : random.int(0, 5);
    for (const name of random.distinct([...names, ...RAW_NAMES], count)) {
      const path = prefix + name;
      // Names that are not UTF-8 stay leaves: the walker of this branch reports, never enters, them.
      if (depth < 3 && !RAW_NAMES.includes(name) && random.chance(0.4)) {
        tree.directories.push(path);
        fill(`${path}/`, depth + 1);
      } else if (random.chance(0.06)) tree.symlinks.push(path);
      else tree.files.push(path);
    }
  };
  fill("", 0);
  return tree;
}

function generateRules(random: Random, tree: Tree, classes: boolean): string {
  const paths = [...tree.directories, ...tree.files, ...tree.symlinks];
  const lines: string[] = [];
  for (let count = random.int(1, 8); count > 0; count--) {
    if (random.chance(0.1)) lines.push(random.pick(["# a comment", "#*.log", "#"]));
    if (random.chance(0.1)) lines.push(random.pick(["", "   "]));
    lines.push(generateRule(random, random.pick(paths), classes));
  }
  const eol = random.chance(0.3) ? "\r\n" : "\n";
  const text = lines.join(eol) + (random.chance(0.7) ? eol : "");
  if (random.chance(0.04)) return `\uFEFF\uFEFF${text}`;
  return random.chance(0.2) ? `\uFEFF${text}` : text;
}

/** A rule aimed at `path`: some of its last segments, mutated, anchored or not. */
function generateRule(random: Random, path: string, classes: boolean): string {
  const all = path.split("/");
  const segments = all.slice(all.length - random.int(1, all.length));
  const pieces = segments.map((segment) => (random.chance(0.08) ? "**" : mutate(random, segment, classes)));
  const whole = segments.length === all.length;
  const anchor = random.pick(whole ? ["", "", "/", "**/"] : ["", "**/", "*/"]);
  const negation = random.chance(0.25) ? "!" : "";
  const directoryOnly = random.chance(0.25) ? "/" : "";
  // `***` is an accepted difference, not generated.
  const rule = `${negation}${anchor}${pieces.join("/")}${directoryOnly}`.replace(/\*{3,}/g, "**");
  return random.chance(0.15) ? `${rule}  ` : rule;
}

/** One name as a pattern: each character kept (escaped when it must be), or a wildcard or class for it. */
function mutate(random: Random, name: string, classes: boolean): string {
  if (random.chance(0.05)) return "*";
  let chars = [...name];
  let [prefix, suffix] = ["", ""];
  if (random.chance(0.15)) [chars, prefix] = [chars.slice(random.int(0, chars.length - 1)), "*"];
  if (random.chance(0.15)) [chars, suffix] = [chars.slice(0, random.int(1, chars.length)), "*"];
  const body = chars.map((char, index) => {
    const roll = random.next();
    if (classes && roll < 0.08) return "?";
    if (classes && roll < 0.2) return bracketFor(random, char);
    return literal(random, char, index === 0 && prefix === "", index === chars.length - 1);
  });
  return prefix + body.join("") + suffix;
}

function literal(random: Random, char: string, first: boolean, last: boolean): string {
  if ("*?[\\".includes(char)) return `\\${char}`;
  if (first && "!#".includes(char)) return `\\${char}`;
  // A space at the end would be trimmed unless escaped; elsewhere escaping it is optional.
  if (char === " " && (last || random.chance(0.5))) return "\\ ";
  if (random.chance(0.03) && /[a-z]/.test(char)) return `\\${char}`;
  return char;
}

/** A bracket expression that may or may not match `char`, or an unclosed `[` (the rule then never matches). */
function bracketFor(random: Random, char: string): string {
  const member = (c: string): string => ("]\\^!-[".includes(c) ? `\\${c}` : c);
  const other = random.pick(CLASS_MEMBERS);
  const raw = /[\uDC80-\uDCFF]/.test(char);
  const options = [
    () => `[${member(char)}${member(other)}]`,
    () => `[!${member(other)}]`,
    () => `[^${member(other)}${member(char)}]`,
    () => random.pick(["[a-z]", "[A-Z]", "[0-9]", "[a-fx-z]", "[ -~]", "[]x]", "[a-]"]),
    () => random.pick(["[z-a]", "[9-0]", "[z-ab]"]),
    () => `[${random.chance(0.3) ? "!" : ""}[:${random.pick(POSIX_CLASSES)}:]]`,
    () => (raw ? "[\udce0-\udcef]" : `[${member(char)}`),
    () => `[${member(char)}`,
  ];
  return random.pick(options)();
}

interface Random {
  next(): number;
  chance(probability: number): boolean;
  int(min: number, max: number): number;
  pick<T>(list: readonly T[]): T;
  distinct<T>(list: readonly T[], count: number): T[];
}

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
function seeded(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(list: readonly T[]): T => list[int(0, list.length - 1)] as T;
  return {
    next,
    chance: (probability) => next() < probability,
    int,
    pick,
    distinct: (list, count) => {
      const chosen = new Set<(typeof list)[number]>();
      while (chosen.size < Math.min(count, list.length)) chosen.add(pick(list));
      return [...chosen];
    },
  };
}
