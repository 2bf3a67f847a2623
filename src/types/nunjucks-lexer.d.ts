// nunjucks exports its lexer, which @types/nunjucks does not describe.
import 'nunjucks';

declare module 'nunjucks' {
  export const lexer: {
    lex(
      source: string,
      options: object,
    ): {
      nextToken(): { type: string; value: string; lineno: number; colno: number } | null;
    };
  };
}
