/**
 * A file's own set of fixture apps: {@link stopAllApps} stops every app of the mocha process, which in a
 * full run includes other files' apps still finishing; a group stops only those it started.
 */
import { runApp, type AppHandle, type RunAppOptions } from './run-app';

/** Apps started through one group. */
export interface AppGroup {
  /** {@link runApp}, remembering the app until it exits. */
  readonly run: (app: string, options: RunAppOptions) => AppHandle;
  /** Kill (SIGKILL) the group's apps still running and wait until they have exited. */
  readonly stop: () => Promise<void>;
}

/** A new, empty group. */
export function appGroup(): AppGroup {
  const apps = new Set<AppHandle>();
  return {
    run(app, options) {
      const handle = runApp(app, options);
      apps.add(handle);
      void handle.exit.then(() => apps.delete(handle));
      return handle;
    },
    async stop() {
      for (const app of apps) app.kill('SIGKILL');
      await Promise.all([...apps].map((a) => a.exit));
    },
  };
}
