//! Backend vocabulary in Japanese, Korean, Chinese, Portuguese and Vietnamese, mapped to the
//! English words the rubric cues and bank aliases use. Answers in those languages are judged on
//! their content: a Korean "롤백" counts as "rollback".

use std::ops::Range;

/// (English, [terms in other languages]). Latin-script terms match on word boundaries; CJK
/// terms match anywhere.
const ENTRIES: &[(&str, &[&str])] = &[
    // data and storage
    (
        "cache",
        &["キャッシュ", "캐시", "缓存", "快取", "cachê", "bộ nhớ đệm"],
    ),
    (
        "database",
        &[
            "データベース",
            "데이터베이스",
            "数据库",
            "資料庫",
            "banco de dados",
            "cơ sở dữ liệu",
        ],
    ),
    (
        "index",
        &["インデックス", "인덱스", "索引", "índice", "chỉ mục"],
    ),
    ("query", &["クエリ", "쿼리", "查询", "consulta", "truy vấn"]),
    ("table", &["テーブル", "테이블", "数据表", "tabela", "bảng"]),
    ("schema", &["スキーマ", "스키마", "模式", "esquema"]),
    (
        "primary key",
        &[
            "主キー",
            "기본 키",
            "기본키",
            "主键",
            "chave primária",
            "khóa chính",
        ],
    ),
    ("shard", &["シャード", "샤드", "分片", "shard", "phân mảnh"]),
    (
        "partition",
        &["パーティション", "파티션", "分区", "partição", "phân vùng"],
    ),
    (
        "replica",
        &[
            "レプリカ",
            "레플리카",
            "복제본",
            "副本",
            "réplica",
            "bản sao",
        ],
    ),
    (
        "replication",
        &["レプリケーション", "복제", "复制", "replicação", "sao chép"],
    ),
    (
        "transaction",
        &[
            "トランザクション",
            "트랜잭션",
            "事务",
            "交易",
            "transação",
            "giao dịch",
        ],
    ),
    ("lock", &["ロック", "락", "잠금", "锁", "bloqueio", "khóa"]),
    (
        "consistency",
        &[
            "整合性",
            "一貫性",
            "일관성",
            "一致性",
            "consistência",
            "nhất quán",
        ],
    ),
    (
        "eventual consistency",
        &[
            "結果整合性",
            "최종 일관성",
            "最终一致性",
            "consistência eventual",
        ],
    ),
    (
        "availability",
        &["可用性", "가용성", "disponibilidade", "tính sẵn sàng"],
    ),
    (
        "storage",
        &[
            "ストレージ",
            "스토리지",
            "저장소",
            "存储",
            "armazenamento",
            "lưu trữ",
        ],
    ),
    (
        "data model",
        &[
            "データモデル",
            "데이터 모델",
            "数据模型",
            "modelo de dados",
            "mô hình dữ liệu",
        ],
    ),
    // scale and performance
    (
        "latency",
        &[
            "レイテンシ",
            "レイテンシー",
            "遅延",
            "지연",
            "레이턴시",
            "延迟",
            "latência",
            "độ trễ",
        ],
    ),
    (
        "throughput",
        &[
            "スループット",
            "처리량",
            "吞吐量",
            "vazão",
            "throughput",
            "thông lượng",
        ],
    ),
    (
        "scale",
        &["スケール", "스케일", "扩展", "escalar", "escala", "mở rộng"],
    ),
    (
        "load balancer",
        &[
            "ロードバランサ",
            "ロードバランサー",
            "로드 밸런서",
            "로드밸런서",
            "负载均衡",
            "balanceador de carga",
            "cân bằng tải",
        ],
    ),
    (
        "bottleneck",
        &["ボトルネック", "병목", "瓶颈", "gargalo", "nút thắt"],
    ),
    (
        "requests per second",
        &[
            "qps",
            "rps",
            "毎秒リクエスト",
            "초당 요청",
            "每秒请求",
            "requisições por segundo",
            "yêu cầu mỗi giây",
        ],
    ),
    (
        "estimate",
        &[
            "見積もり",
            "概算",
            "추정",
            "估算",
            "估计",
            "estimativa",
            "estimar",
            "ước tính",
        ],
    ),
    (
        "requirements",
        &[
            "要件",
            "요구사항",
            "요구 사항",
            "需求",
            "requisitos",
            "yêu cầu",
        ],
    ),
    (
        "traffic",
        &["トラフィック", "트래픽", "流量", "tráfego", "lưu lượng"],
    ),
    ("memory", &["メモリ", "메모리", "内存", "memória", "bộ nhớ"]),
    ("cpu", &["cpu使用率", "cpu 사용률", "cpu使用率"]),
    // reliability and resilience
    (
        "retry",
        &[
            "リトライ",
            "再試行",
            "재시도",
            "重试",
            "retentativa",
            "tentar novamente",
            "thử lại",
        ],
    ),
    (
        "timeout",
        &[
            "タイムアウト",
            "타임아웃",
            "超时",
            "tempo limite",
            "hết thời gian chờ",
        ],
    ),
    (
        "circuit breaker",
        &[
            "サーキットブレーカー",
            "서킷 브레이커",
            "서킷브레이커",
            "熔断",
            "断路器",
            "disjuntor",
            "ngắt mạch",
        ],
    ),
    (
        "fallback",
        &[
            "フォールバック",
            "폴백",
            "降级",
            "回退",
            "plano b",
            "dự phòng",
        ],
    ),
    (
        "graceful degradation",
        &[
            "縮退運転",
            "우아한 성능 저하",
            "服务降级",
            "degradação graciosa",
            "suy giảm nhẹ nhàng",
        ],
    ),
    (
        "idempotent",
        &["冪等", "べき等", "멱등", "幂等", "idempotente", "lũy đẳng"],
    ),
    (
        "idempotency key",
        &[
            "冪等キー",
            "べき等キー",
            "멱등 키",
            "幂等键",
            "chave de idempotência",
        ],
    ),
    ("backoff", &["バックオフ", "백오프", "退避", "指数退避"]),
    (
        "rate limit",
        &[
            "レート制限",
            "레이트 리밋",
            "속도 제한",
            "限流",
            "限速",
            "limite de taxa",
            "giới hạn tốc độ",
        ],
    ),
    (
        "queue",
        &["キュー", "큐", "대기열", "队列", "fila", "hàng đợi"],
    ),
    (
        "message queue",
        &[
            "メッセージキュー",
            "메시지 큐",
            "消息队列",
            "fila de mensagens",
            "hàng đợi tin nhắn",
        ],
    ),
    (
        "failover",
        &[
            "フェイルオーバー",
            "페일오버",
            "故障转移",
            "主备切换",
            "chuyển đổi dự phòng",
        ],
    ),
    (
        "single point of failure",
        &[
            "単一障害点",
            "단일 장애점",
            "单点故障",
            "ponto único de falha",
            "điểm lỗi duy nhất",
        ],
    ),
    ("saga", &["サーガ", "사가", "saga"]),
    ("outbox", &["アウトボックス", "아웃박스", "发件箱"]),
    (
        "compensating",
        &["補償", "보상", "补偿", "compensação", "bù trừ"],
    ),
    (
        "two phase commit",
        &[
            "2相コミット",
            "2단계 커밋",
            "两阶段提交",
            "commit em duas fases",
        ],
    ),
    ("eventual", &["最終的", "최종적", "最终"]),
    (
        "duplicate",
        &[
            "重複",
            "중복",
            "重复",
            "duplicado",
            "duplicada",
            "trùng lặp",
        ],
    ),
    // operations and incidents
    (
        "rollback",
        &[
            "ロールバック",
            "切り戻し",
            "롤백",
            "回滚",
            "reverter",
            "rollback",
            "khôi phục bản trước",
            "hoàn tác",
        ],
    ),
    (
        "deploy",
        &[
            "デプロイ",
            "배포",
            "部署",
            "发布",
            "implantação",
            "deploy",
            "triển khai",
        ],
    ),
    (
        "monitoring",
        &[
            "監視",
            "モニタリング",
            "모니터링",
            "监控",
            "monitoramento",
            "giám sát",
        ],
    ),
    (
        "metrics",
        &["メトリクス", "메트릭", "지표", "指标", "métricas", "chỉ số"],
    ),
    ("logs", &["ログ", "로그", "日志", "logs", "nhật ký"]),
    (
        "trace",
        &[
            "トレース",
            "트레이스",
            "추적",
            "链路追踪",
            "追踪",
            "rastreamento",
            "truy vết",
        ],
    ),
    (
        "alert",
        &["アラート", "알림", "경보", "告警", "alerta", "cảnh báo"],
    ),
    (
        "dashboard",
        &["ダッシュボード", "대시보드", "仪表盘", "监控面板", "painel"],
    ),
    (
        "incident",
        &[
            "インシデント",
            "障害",
            "장애",
            "인시던트",
            "故障",
            "事故",
            "incidente",
            "sự cố",
        ],
    ),
    (
        "root cause",
        &[
            "根本原因",
            "근본 원인",
            "근본원인",
            "根因",
            "causa raiz",
            "nguyên nhân gốc",
        ],
    ),
    (
        "postmortem",
        &[
            "ポストモーテム",
            "振り返り",
            "포스트모템",
            "회고",
            "复盘",
            "事后分析",
            "post-mortem",
            "postmortem",
        ],
    ),
    (
        "impact",
        &["影響範囲", "影響", "영향", "影响", "impacto", "ảnh hưởng"],
    ),
    (
        "mitigate",
        &["緩和", "완화", "缓解", "止血", "mitigar", "giảm thiểu"],
    ),
    (
        "hypothesis",
        &["仮説", "가설", "假设", "hipótese", "giả thuyết"],
    ),
    (
        "status page",
        &[
            "ステータスページ",
            "상태 페이지",
            "状态页",
            "página de status",
        ],
    ),
    (
        "stakeholders",
        &[
            "関係者",
            "ステークホルダー",
            "이해관계자",
            "利益相关者",
            "相关方",
            "stakeholders",
            "partes interessadas",
            "các bên liên quan",
        ],
    ),
    (
        "escalate",
        &[
            "エスカレーション",
            "에스컬레이션",
            "上报",
            "升级处理",
            "escalar",
            "báo cáo lên",
        ],
    ),
    (
        "feature flag",
        &[
            "フィーチャーフラグ",
            "기능 플래그",
            "피처 플래그",
            "功能开关",
            "特性开关",
            "feature flag",
        ],
    ),
    ("canary", &["カナリア", "카나리", "金丝雀", "canário"]),
    (
        "error rate",
        &[
            "エラー率",
            "에러율",
            "오류율",
            "错误率",
            "taxa de erro",
            "tỷ lệ lỗi",
        ],
    ),
    (
        "connection pool",
        &[
            "コネクションプール",
            "커넥션 풀",
            "연결 풀",
            "连接池",
            "pool de conexões",
        ],
    ),
    // api
    (
        "authentication",
        &[
            "認証",
            "인증",
            "认证",
            "身份验证",
            "autenticação",
            "xác thực",
        ],
    ),
    (
        "authorization",
        &["認可", "인가", "권한", "授权", "autorização", "phân quyền"],
    ),
    (
        "permission",
        &["権限", "권한", "权限", "permissão", "quyền"],
    ),
    ("token", &["トークン", "토큰", "令牌", "token"]),
    (
        "version",
        &["バージョン", "버전", "版本", "versão", "phiên bản"],
    ),
    (
        "backward compatible",
        &[
            "後方互換",
            "하위 호환",
            "向后兼容",
            "compatibilidade retroativa",
            "tương thích ngược",
        ],
    ),
    (
        "deprecation",
        &[
            "非推奨",
            "지원 중단",
            "弃用",
            "废弃",
            "descontinuação",
            "ngừng hỗ trợ",
        ],
    ),
    (
        "status code",
        &[
            "ステータスコード",
            "상태 코드",
            "状态码",
            "código de status",
            "mã trạng thái",
        ],
    ),
    ("error", &["エラー", "에러", "오류", "错误", "erro", "lỗi"]),
    (
        "validation",
        &[
            "バリデーション",
            "検証",
            "유효성 검사",
            "검증",
            "校验",
            "验证",
            "validação",
            "kiểm tra hợp lệ",
        ],
    ),
    (
        "pagination",
        &[
            "ページネーション",
            "페이지네이션",
            "分页",
            "paginação",
            "phân trang",
        ],
    ),
    ("cursor", &["カーソル", "커서", "游标", "cursor"]),
    (
        "encryption",
        &["暗号化", "암호화", "加密", "criptografia", "mã hóa"],
    ),
    // algorithms
    (
        "time complexity",
        &[
            "時間計算量",
            "시간 복잡도",
            "时间复杂度",
            "complexidade de tempo",
            "độ phức tạp thời gian",
        ],
    ),
    (
        "space complexity",
        &[
            "空間計算量",
            "공간 복잡도",
            "空间复杂度",
            "complexidade de espaço",
            "độ phức tạp không gian",
        ],
    ),
    (
        "complexity",
        &["計算量", "복잡도", "复杂度", "complexidade", "độ phức tạp"],
    ),
    (
        "edge case",
        &[
            "エッジケース",
            "境界値",
            "엣지 케이스",
            "경계 조건",
            "边界情况",
            "边界条件",
            "caso extremo",
            "caso de borda",
            "trường hợp biên",
        ],
    ),
    (
        "empty",
        &["空の", "빈", "为空", "空数组", "vazio", "vazia", "rỗng"],
    ),
    ("test", &["テスト", "테스트", "测试", "teste", "kiểm thử"]),
    (
        "unit test",
        &[
            "単体テスト",
            "ユニットテスト",
            "단위 테스트",
            "单元测试",
            "teste unitário",
            "kiểm thử đơn vị",
        ],
    ),
    (
        "hash map",
        &[
            "ハッシュマップ",
            "해시맵",
            "해시 맵",
            "哈希表",
            "mapa hash",
            "bảng băm",
        ],
    ),
    (
        "binary search",
        &[
            "二分探索",
            "이진 탐색",
            "이분 탐색",
            "二分查找",
            "busca binária",
            "tìm kiếm nhị phân",
        ],
    ),
    (
        "sort",
        &["ソート", "정렬", "排序", "ordenar", "ordenação", "sắp xếp"],
    ),
    ("heap", &["ヒープ", "힙", "堆", "heap", "đống"]),
    (
        "two pointers",
        &[
            "二つのポインタ",
            "투 포인터",
            "双指针",
            "dois ponteiros",
            "hai con trỏ",
        ],
    ),
    (
        "sliding window",
        &[
            "スライディングウィンドウ",
            "슬라이딩 윈도우",
            "滑动窗口",
            "janela deslizante",
            "cửa sổ trượt",
        ],
    ),
    (
        "dynamic programming",
        &[
            "動的計画法",
            "동적 계획법",
            "动态规划",
            "programação dinâmica",
            "quy hoạch động",
        ],
    ),
    (
        "correct",
        &["正しさ", "정확성", "正确性", "corretude", "tính đúng đắn"],
    ),
    (
        "invariant",
        &["不変条件", "불변식", "不变量", "invariante", "bất biến"],
    ),
    (
        "overflow",
        &["オーバーフロー", "오버플로", "溢出", "estouro", "tràn số"],
    ),
    ("duplicates", &["重複要素", "중복 원소", "重复元素"]),
    // behavioral
    (
        "i",
        &[
            "私は", "私が", "僕は", "저는", "제가", "나는", "我", "eu", "tôi",
        ],
    ),
    (
        "we",
        &["私たち", "チーム", "우리", "我们", "nós", "chúng tôi"],
    ),
    (
        "learned",
        &[
            "学んだ",
            "学び",
            "배웠",
            "교훈",
            "学到",
            "教训",
            "aprendi",
            "lição",
            "bài học",
            "học được",
        ],
    ),
    ("result", &["結果", "결과", "结果", "resultado", "kết quả"]),
    (
        "reduced",
        &[
            "削減", "減ら", "줄였", "감소", "减少", "降低", "reduzi", "reduziu", "giảm",
        ],
    ),
    (
        "improved",
        &[
            "改善",
            "개선",
            "改进",
            "提升",
            "melhorou",
            "melhorei",
            "cải thiện",
        ],
    ),
    (
        "responsible",
        &[
            "担当",
            "責任",
            "담당",
            "책임",
            "负责",
            "responsável",
            "chịu trách nhiệm",
        ],
    ),
    (
        "goal",
        &["目標", "목표", "目标", "objetivo", "meta", "mục tiêu"],
    ),
    (
        "customer",
        &["顧客", "お客様", "고객", "客户", "cliente", "khách hàng"],
    ),
    (
        "deadline",
        &[
            "締め切り",
            "納期",
            "마감",
            "期限",
            "截止",
            "prazo",
            "hạn chót",
        ],
    ),
    (
        "next time",
        &["次回", "다음에는", "下次", "da próxima vez", "lần sau"],
    ),
    (
        "mistake",
        &[
            "失敗",
            "ミス",
            "실수",
            "错误决定",
            "失误",
            "erro meu",
            "sai lầm",
        ],
    ),
    ("team", &["チーム", "팀", "团队", "equipe", "time", "nhóm"]),
    (
        "conflict",
        &["対立", "衝突", "갈등", "冲突", "conflito", "xung đột"],
    ),
    (
        "manager",
        &[
            "上司",
            "マネージャー",
            "매니저",
            "상사",
            "经理",
            "gerente",
            "quản lý",
        ],
    ),
];

/// Finds glossary terms in lower-cased text: (byte span, English words). Latin-script terms
/// (Portuguese, Vietnamese) are only looked for when `latin` is set — an English answer must
/// not gain words from them.
pub fn find(lower: &str, latin: bool) -> Vec<(Range<usize>, &'static str)> {
    let mut out = Vec::new();
    let has_non_ascii = !lower.is_ascii();
    for (english, terms) in ENTRIES {
        for term in *terms {
            let cjk = term.chars().any(super::text::is_cjk);
            if (cjk && !has_non_ascii) || (!cjk && !latin) {
                continue;
            }
            let mut from = 0;
            while let Some(i) = lower[from..].find(term) {
                let start = from + i;
                let end = start + term.len();
                from = end;
                if !cjk {
                    // Latin-script terms need word boundaries.
                    let before = lower[..start].chars().next_back();
                    let after = lower[end..].chars().next();
                    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
                    if !boundary(before) || !boundary(after) {
                        continue;
                    }
                }
                out.push((start..end, *english));
            }
        }
    }
    out.sort_by_key(|(r, _)| r.start);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_terms_in_each_language() {
        let words = |s: &str| {
            let latin = matches!(
                super::super::lang::detect(s),
                super::super::lang::Lang::Pt | super::super::lang::Lang::Vi
            );
            find(&s.to_lowercase(), latin)
                .into_iter()
                .map(|x| x.1)
                .collect::<Vec<_>>()
        };
        assert!(words("まずロールバックします").contains(&"rollback"));
        assert!(words("캐시를 추가합니다").contains(&"cache"));
        assert!(words("增加缓存和重试").contains(&"retry"));
        assert!(words("Eu faria rollback e adicionaria um índice").contains(&"index"));
        assert!(words("Tôi sẽ thêm chỉ mục").contains(&"index"));
        // Plain English gains nothing from Latin-script glossary terms.
        assert!(words("the meta of the cursor — a time").is_empty());
    }
}
