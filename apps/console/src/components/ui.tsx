import { useState, type ReactNode } from 'react';
import { errorText } from '../api';

/** The API's `detail` of a failed call, announced to screen readers. */
export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {errorText(error)}
    </p>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

export function Section({
  title,
  children,
  actions,
}: {
  title: string;
  children: ReactNode;
  actions?: ReactNode;
}) {
  const id = `section-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section className="card" aria-labelledby={id}>
      <div className="card-head">
        <h2 id={id}>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${status}`}>{status}</span>;
}

/** A newly issued key: shown once, with a copy button. */
export function NewKey({ secret, onDone }: { secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="new-key" role="region" aria-label="New key">
      <p>
        <strong>Copy this key now.</strong> It is shown only once; Tollgate keeps only its hash.
      </p>
      <code data-testid="new-key">{secret}</code>
      <div className="row">
        <button
          type="button"
          onClick={() =>
            void navigator.clipboard.writeText(secret).then(
              () => setCopied(true),
              () => setCopied(false),
            )
          }
        >
          {copied ? 'Copied' : 'Copy key'}
        </button>
        <button type="button" className="secondary" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

export const fmt = {
  credits: (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 2 }),
  usd: (n: number) =>
    `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 })}`,
  int: (n: number) => n.toLocaleString('en-US'),
  time: (iso: string | null) => (iso ? `${iso.slice(0, 16).replace('T', ' ')} UTC` : '—'),
};
