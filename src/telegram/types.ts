/** Languages the owner and clients can be answered in: see src/lang.ts. Add one there and in texts/. */
export { isLang, type Lang } from "../lang";
