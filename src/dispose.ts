// One way to own what the extension registers, as microsoft/vscode-hexeditor does: whatever a class registers is
// disposed with it, in reverse order, once.

export interface IDisposable {
  dispose(): unknown;
}

export function disposeAll(disposables: IDisposable[]): void {
  while (disposables.length) disposables.pop()?.dispose();
}

export abstract class Disposable implements IDisposable {
  private disposed = false;
  private readonly disposables: IDisposable[] = [];

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeAll(this.disposables);
  }

  /** Disposes `value` with this object (at once, if this is already disposed). */
  protected _register<T extends IDisposable>(value: T): T {
    if (this.disposed) value.dispose();
    else this.disposables.push(value);
    return value;
  }

  protected get isDisposed(): boolean {
    return this.disposed;
  }
}
