import { useState, type FormEvent } from 'react';
import { verifyAdminKey } from '../api';
import { ErrorText } from '../components/ui';

export function SignInPage({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    verifyAdminKey(key.trim()).then(
      () => onSignedIn(key.trim()),
      (e: unknown) => {
        setError(e);
        setBusy(false);
      },
    );
  };
  return (
    <main className="signin" id="main">
      <form className="card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">Tollgate console</h1>
        <p className="muted">
          Sign in with the admin master key (MASTER_KEY). It stays in this tab only.
        </p>
        <label htmlFor="master-key">Master key</label>
        <input
          id="master-key"
          type="password"
          autoComplete="current-password"
          required
          value={key}
          onChange={(e) => setKey(e.target.value)}
        />
        <ErrorText error={error} />
        <button type="submit" disabled={busy || !key.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
