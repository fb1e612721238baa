import { userPicker } from '../lib/user-picker.ts';

userPicker();
