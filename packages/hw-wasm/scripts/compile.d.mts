export declare const ASC_FLAGS: readonly string[];
/** Compile assembly/hw.ts under `root` (the package folder) with ASC_FLAGS; the .wasm bytes. */
export declare function compileWasm(root: string): Promise<Buffer>;
