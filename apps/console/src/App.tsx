import { useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { NavLink, Navigate, Route, Routes } from 'react-router';
import { ApiContext, adminClient, session } from './api';
import { AuditPage } from './pages/AuditPage';
import { CatalogPage } from './pages/CatalogPage';
import { SignInPage } from './pages/SignInPage';
import { TeamPage } from './pages/TeamPage';
import { TeamsPage } from './pages/TeamsPage';
import { UsagePage } from './pages/UsagePage';

const NAV = [
  { to: '/', label: 'Teams', end: true },
  { to: '/catalog', label: 'Model catalog', end: false },
  { to: '/usage', label: 'Usage', end: false },
  { to: '/audit', label: 'Audit log', end: false },
];

export function App() {
  const [adminKey, setAdminKey] = useState(session.get);
  const queryClient = useQueryClient();
  const api = useMemo(() => (adminKey ? adminClient(adminKey) : null), [adminKey]);

  if (!api) {
    return (
      <SignInPage
        onSignedIn={(key) => {
          session.set(key);
          setAdminKey(key);
        }}
      />
    );
  }
  const signOut = () => {
    session.clear();
    queryClient.clear();
    setAdminKey(null);
  };
  return (
    <ApiContext.Provider value={api}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">Tollgate</span>
        <nav aria-label="Main">
          {NAV.map((item) => (
            <NavLink key={item.to} to={item.to} end={item.end}>
              {item.label}
            </NavLink>
          ))}
        </nav>
        <button type="button" className="secondary" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<TeamsPage />} />
          <Route path="/teams/:teamId" element={<TeamPage />} />
          <Route path="/catalog" element={<CatalogPage />} />
          <Route path="/usage" element={<UsagePage />} />
          <Route path="/audit" element={<AuditPage />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </main>
    </ApiContext.Provider>
  );
}
