// The `stopword` package ships no types; this names the one list Lotse reads.
declare module 'stopword' {
  export const deu: string[];
}
