import { decodePath, encodePath } from "@strongbox/core";

/**
 * Names as `tar -t` prints them. GNU tar 1.34, in a UTF-8 locale, quotes a name in its default "escape"
 * style: printable characters as they are, a backslash doubled, `\a \b \t \n \v \f \r` for those
 * controls, and every other byte that does not print (other controls, DEL, a byte that is not UTF-8, the
 * bytes of a character that is not printable) as a three-digit octal escape such as `\351`.
 */

const LETTER_ESCAPES: Readonly<Record<number, string>> = {
  7: "a",
  8: "b",
  9: "t",
  10: "n",
  11: "v",
  12: "f",
  13: "r",
};
const LETTER_BYTES: Readonly<Record<string, number>> = Object.fromEntries(
  Object.entries(LETTER_ESCAPES).map(([byte, letter]) => [letter, Number(byte)]),
);

/** What glibc's `iswprint` refuses: controls, line and paragraph separators, unassigned code points. */
const NOT_PRINTABLE = /^[\p{Cc}\p{Zl}\p{Zp}\p{Cn}]$/u;
/** The lone surrogates a decoded name uses for bytes that are not UTF-8 (see core's `path-bytes`). */
const RAW_BYTE = /^[\uDC80-\uDCFF]$/;

/** A decoded name (core's `decodePath` form) as `tar -t` prints it. */
export function quoteName(name: string): string {
  let out = "";
  for (const char of name) {
    if (char === "\\") out += "\\\\";
    else if (RAW_BYTE.test(char)) out += octal(char.charCodeAt(0) - 0xdc00);
    else if (!NOT_PRINTABLE.test(char)) out += char;
    else {
      const code = char.codePointAt(0) ?? 0;
      const letter = LETTER_ESCAPES[code];
      out += letter === undefined ? [...Buffer.from(char)].map(octal).join("") : `\\${letter}`;
    }
  }
  return out;
}

/**
 * A path given as `tar -t` prints it, or plainly, as the name it stands for: `\ooo` (one to three octal
 * digits) is that byte, `\\` a backslash, `\a \b \t \n \v \f \r` those controls; a backslash before
 * anything else stays a backslash. The bytes are decoded like archive names, so `caf\351.txt` selects the
 * Latin-1 name and `caf\303\251.txt` the same name as `café.txt`.
 */
export function unquoteName(text: string): string {
  if (!text.includes("\\")) return text;
  const bytes: Buffer[] = [];
  let literal = "";
  const flush = (): void => {
    if (literal !== "") bytes.push(encodePath(literal));
    literal = "";
  };
  for (let i = 0; i < text.length; i++) {
    const escaped = text[i] === "\\" ? escapedByte(text, i + 1) : undefined;
    if (escaped === undefined) {
      literal += text[i];
      continue;
    }
    flush();
    bytes.push(Buffer.of(escaped.byte));
    i += escaped.length;
  }
  flush();
  return decodePath(Buffer.concat(bytes));
}

/** The byte an escape starting at `start` (just after its backslash) stands for, and its length. */
function escapedByte(text: string, start: number): { byte: number; length: number } | undefined {
  const digits = /^[0-7]{1,3}/.exec(text.slice(start, start + 3))?.[0];
  if (digits !== undefined) {
    const byte = Number.parseInt(digits, 8);
    return byte <= 0xff ? { byte, length: digits.length } : undefined;
  }
  const next = text[start];
  if (next === "\\") return { byte: 0x5c, length: 1 };
  const control = next === undefined ? undefined : LETTER_BYTES[next];
  return control === undefined ? undefined : { byte: control, length: 1 };
}

/** `text` with each byte that is not UTF-8 (U+DC80–U+DCFF) written as `tar -t` does, for messages. */
export function escapeRawBytes(text: string): string {
  return text.replace(/[\uDC80-\uDCFF]/g, (char) => octal(char.charCodeAt(0) - 0xdc00));
}

function octal(byte: number): string {
  return `\\${byte.toString(8).padStart(3, "0")}`;
}
