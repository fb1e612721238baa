import { config, t } from './i18n.ts';
import { currentUser, setUser } from './session.ts';

/** Enhances the server-rendered demo user form; calls back when the user changes. */
export function userPicker(onChange?: (user: number) => void): void {
  const status = document.getElementById('user-status');
  const show = () => {
    const user = currentUser();
    if (status)
      status.textContent = user
        ? t(config.identity === 'jwt' ? 'user.site' : 'user.current', { id: user })
        : t('user.none');
  };
  show();
  const form = document.getElementById('user-form') as HTMLFormElement | null;
  const input = document.getElementById('user-id') as HTMLInputElement | null;
  if (!form || !input) return;
  const user = currentUser();
  if (user) input.value = String(user);
  const choose = (id: number) => {
    setUser(id);
    input.value = String(id);
    show();
    onChange?.(id);
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (form.reportValidity()) choose(Number(input.value));
  });
  document.getElementById('user-random')?.addEventListener('click', () => {
    choose(1 + Math.floor(Math.random() * config.demoUsers));
  });
}
