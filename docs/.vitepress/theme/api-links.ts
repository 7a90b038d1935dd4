import { useData, withBase } from 'vitepress';
import { computed, defineComponent, h } from 'vue';

/** "API reference: @distkv/core" above a chapter, from themeConfig.chapterPackages (config.mts). */
export const ApiLinks = defineComponent({
  name: 'ApiLinks',
  setup() {
    const { page, theme } = useData();
    const packages = computed<readonly string[]>(() => theme.value.chapterPackages?.[page.value.relativePath] ?? []);
    return () => {
      if (packages.value.length === 0) return null;
      const links = packages.value.flatMap((pkg, i) => [
        ...(i > 0 ? [', '] : []),
        // TypeDoc's pages are static files, not VitePress routes: target _self makes a plain page load.
        h('a', { href: withBase(`/api/modules/_distkv_${pkg}.html`), target: '_self' }, `@distkv/${pkg}`),
      ]);
      return h('p', { class: 'api-links' }, ['API reference: ', ...links]);
    };
  },
});
