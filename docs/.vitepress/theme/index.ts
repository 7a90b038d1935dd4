import type { Theme } from 'vitepress';
import DefaultTheme from 'vitepress/theme';
import { h } from 'vue';
import { ApiLinks } from './api-links.js';
import './custom.css';

// The default theme, plus one line above each chapter linking to the API
// reference of the packages it builds (the chapters themselves stay plain
// Markdown that reads the same on GitHub).
export default {
  extends: DefaultTheme,
  Layout: () => h(DefaultTheme.Layout, null, { 'doc-before': () => h(ApiLinks) }),
} satisfies Theme;
