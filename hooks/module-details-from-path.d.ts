// Types for module-details-from-path (require-in-the-middle's own helper; the package ships none).
declare module 'module-details-from-path' {
  /** Where a file sits in a package installed under node_modules. */
  interface ModuleDetails {
    /** The package name (`pg`, `@scope/name`). */
    name: string;
    /** The package's directory. */
    basedir: string;
    /** The file's path inside the package, with the platform's separators. */
    path: string;
  }
  /** Details of `file`, or undefined when it is not inside a node_modules directory. */
  function moduleDetailsFromPath(file: string): ModuleDetails | undefined;
  export = moduleDetailsFromPath;
}
