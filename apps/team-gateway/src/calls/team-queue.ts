/**
 * Runs the exact path's money statements of one team one after another within this replica.
 * PostgreSQL serialises them on the team's row anyway; queueing them here instead keeps at most
 * one of this replica's statements waiting on that row, so the lock queue never holds the many
 * waiters that, with the foreign-key checks of inserted rows, formed deadlock cycles under load.
 */
export class TeamQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(teamId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(teamId) ?? Promise.resolve();
    const result = previous.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(teamId, tail);
    void tail.then(() => {
      if (this.tails.get(teamId) === tail) this.tails.delete(teamId);
    });
    return result;
  }
}
