/** A statement's tokens (`tokens`) and a cursor over them (`Cursor`), for reading DDL. Pure. */

export interface Token {
  readonly text: string;
  /** Upper-cased word (or the identifier's unquoted text for a quoted one). */
  readonly word: string;
  readonly quoted: boolean;
  readonly start: number;
  readonly end: number;
}

/** Splits a statement into words, quoted identifiers, strings and single punctuation; comments skipped. */
export function tokens(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#' || (c === '-' && sql[i + 1] === '-' && /\s/.test(sql[i + 2] ?? ' '))) {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      // Executable comments (`/*!50100 … */`, `/*M! … */`) hold statement text: their content is read.
      const exec = /^\/\*[M]?!\d*/.exec(sql.slice(i));
      if (exec) {
        i += exec[0].length;
      } else {
        const close = sql.indexOf('*/', i + 2);
        i = close < 0 ? sql.length : close + 2;
      }
    } else if (c === '*' && sql[i + 1] === '/') {
      i += 2;
    } else if (c === '`' || c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      for (; j < sql.length; j++) {
        if (sql[j] === c) {
          if (sql[j + 1] === c) {
            text += c;
            j++;
            continue;
          }
          break;
        }
        if (sql[j] === '\\' && c !== '`') {
          text += sql[++j] ?? '';
          continue;
        }
        text += sql[j];
      }
      // Backticks (and double quotes under ANSI_QUOTES) quote identifiers; single quotes are strings.
      out.push({ text: sql.slice(i, j + 1), word: c === "'" ? `'${text}'` : text, quoted: c !== "'", start: i, end: j + 1 });
      i = j + 1;
    } else if (/[A-Za-z0-9_$\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j]!)) j++;
      const text = sql.slice(i, j);
      out.push({ text, word: text.toUpperCase(), quoted: false, start: i, end: j });
      i = j;
    } else {
      out.push({ text: c, word: c, quoted: false, start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

/** A cursor over a statement's tokens. */
export class Cursor {
  i = 0;
  constructor(readonly toks: Token[]) {}
  peek(k = 0): Token | undefined {
    return this.toks[this.i + k];
  }
  is(...words: string[]): boolean {
    return words.every((w, k) => {
      const t = this.peek(k);
      return t !== undefined && !t.quoted && t.word === w;
    });
  }
  accept(...words: string[]): boolean {
    if (!this.is(...words)) return false;
    this.i += words.length;
    return true;
  }
  /** Skips optional words in any order (e.g. ONLINE, IGNORE). */
  skip(...words: string[]): void {
    while (this.peek() && !this.peek()!.quoted && words.includes(this.peek()!.word)) this.i++;
  }
}
